//! The arguments inside `#[gmp::main(..)]` and `#[gmp::test(..)]`.
//!
//! Accepted, each at most once, comma separated:
//!
//! - `procs = N`: an integer literal `N >= 1`, the number of Ps (Go's
//!   `GOMAXPROCS`) the runtime starts with. Without it the runtime reads
//!   `GMP_MAXPROCS`, then falls back to the number of CPUs.
//! - `start_paused = true|false` (`#[gmp::test]` only): the test's runtime
//!   gets a test clock that starts paused (`Builder::start_paused`).
//! - `crate = "path"` (or `crate = path`): where the `gmp` facade lives, for
//!   crates that re-export it under another name. Defaults to `::gmp`.
//!
//! Every error carries the span of the token at fault, so the compiler points
//! at the argument, not at the whole attribute.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitBool, LitStr, Path};

/// The parsed arguments of an entry attribute.
#[derive(Default)]
pub(crate) struct Args {
    /// `procs = N`, already checked to be `>= 1`, with the literal it came
    /// from (for its span).
    pub(crate) procs: Option<(usize, Literal)>,
    /// `crate = path`; `None` means `::gmp`.
    pub(crate) krate: Option<Path>,
    /// `start_paused = bool`, with the literal (for its span).
    pub(crate) start_paused: Option<LitBool>,
}

impl Args {
    /// The `Option<usize>` expression handed to `block_on_main`/`block_on_test`.
    pub(crate) fn procs_expr(&self) -> TokenStream {
        match &self.procs {
            Some((_, lit)) => {
                quote_spanned!(lit.span()=> ::core::option::Option::Some::<usize>(#lit))
            }
            None => quote!(::core::option::Option::None::<usize>),
        }
    }

    /// The path of the `gmp` facade crate.
    pub(crate) fn krate(&self) -> TokenStream {
        match &self.krate {
            Some(path) => quote!(#path),
            None => quote!(::gmp),
        }
    }
}

/// Parses the tokens between the attribute's parentheses.
pub(crate) fn parse_args(tokens: TokenStream) -> syn::Result<Args> {
    let mut args = Args::default();
    syn::meta::parser(|meta| parse_one(&mut args, meta)).parse2(tokens)?;
    Ok(args)
}

fn parse_one(args: &mut Args, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.path.is_ident("procs") {
        if args.procs.is_some() {
            return Err(meta.error("duplicate argument `procs`"));
        }
        let value: Expr = meta.value()?.parse()?;
        args.procs = Some(parse_procs(&value)?);
        Ok(())
    } else if meta.path.is_ident("start_paused") {
        if args.start_paused.is_some() {
            return Err(meta.error("duplicate argument `start_paused`"));
        }
        let value: Expr = meta.value()?.parse()?;
        let Expr::Lit(ExprLit {
            lit: Lit::Bool(lit),
            ..
        }) = value
        else {
            return Err(syn::Error::new(
                value.span(),
                "start_paused must be `true` or `false`",
            ));
        };
        args.start_paused = Some(lit);
        Ok(())
    } else if meta.path.is_ident("crate") {
        if args.krate.is_some() {
            return Err(meta.error("duplicate argument `crate`"));
        }
        let value = meta.value()?;
        let path = if value.peek(LitStr) {
            value.parse::<LitStr>()?.parse::<Path>()?
        } else {
            value.parse::<Path>()?
        };
        args.krate = Some(path);
        Ok(())
    } else {
        let name = path_name(&meta.path);
        Err(meta.error(format_args!(
            "unknown argument `{name}`, expected `procs`, `start_paused` or `crate`"
        )))
    }
}

/// `procs` must be a plain integer literal (optionally `usize`-suffixed) of at
/// least 1: the runtime cannot run Go code, or ours, with zero Ps.
fn parse_procs(value: &Expr) -> syn::Result<(usize, Literal)> {
    let not_a_literal = || {
        syn::Error::new(
            value.span(),
            "procs must be an integer literal >= 1, like `procs = 4`",
        )
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = value
    else {
        return Err(not_a_literal());
    };
    if !matches!(lit.suffix(), "" | "usize") {
        return Err(syn::Error::new(
            lit.span(),
            format_args!("procs is a usize; `{}` is not", lit.suffix()),
        ));
    }
    let n: usize = lit.base10_parse()?;
    if n == 0 {
        return Err(syn::Error::new(lit.span(), "procs must be at least 1"));
    }
    let mut out = Literal::usize_suffixed(n);
    out.set_span(lit.span());
    Ok((n, out))
}

/// `a::b` for a path, without the spaces `TokenStream::to_string` puts in.
fn path_name(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let root = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{root}{}", segments.join("::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> syn::Result<Args> {
        parse_args(tokens)
    }

    fn error(tokens: TokenStream) -> String {
        match parse(tokens.clone()) {
            Ok(_) => panic!("expected an error for `{tokens}`"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn no_arguments_leave_procs_to_the_environment() {
        let args = parse(quote!()).unwrap();
        assert!(args.procs.is_none());
        assert_eq!(
            args.procs_expr().to_string(),
            quote!(::core::option::Option::None::<usize>).to_string()
        );
        assert_eq!(args.krate().to_string(), quote!(::gmp).to_string());
    }

    #[test]
    fn procs_is_read_as_a_usize() {
        let args = parse(quote!(procs = 4)).unwrap();
        assert_eq!(args.procs.as_ref().map(|(n, _)| *n), Some(4));
        assert_eq!(
            args.procs_expr().to_string(),
            quote!(::core::option::Option::Some::<usize>(4usize)).to_string()
        );
    }

    #[test]
    fn procs_accepts_a_usize_suffix_and_a_trailing_comma() {
        let args = parse(quote!(procs = 2usize,)).unwrap();
        assert_eq!(args.procs.map(|(n, _)| n), Some(2));
    }

    #[test]
    fn procs_of_zero_is_rejected() {
        assert_eq!(error(quote!(procs = 0)), "procs must be at least 1");
    }

    #[test]
    fn procs_must_be_a_literal() {
        let expected = "procs must be an integer literal >= 1, like `procs = 4`";
        assert_eq!(error(quote!(procs = n)), expected);
        assert_eq!(error(quote!(procs = -1)), expected);
        assert_eq!(error(quote!(procs = "4")), expected);
        assert_eq!(error(quote!(procs = 2 + 2)), expected);
    }

    #[test]
    fn procs_with_another_integer_type_is_rejected() {
        assert_eq!(error(quote!(procs = 4u8)), "procs is a usize; `u8` is not");
    }

    #[test]
    fn procs_without_a_value_is_rejected() {
        assert_eq!(error(quote!(procs)), "expected `=`");
    }

    #[test]
    fn unknown_argument_is_named_in_the_error() {
        assert_eq!(
            error(quote!(threads = 2)),
            "unknown argument `threads`, expected `procs`, `start_paused` or `crate`"
        );
        assert_eq!(
            error(quote!(procs = 2, flavor = "multi_thread")),
            "unknown argument `flavor`, expected `procs`, `start_paused` or `crate`"
        );
    }

    #[test]
    fn duplicate_procs_is_rejected() {
        assert_eq!(
            error(quote!(procs = 1, procs = 2)),
            "duplicate argument `procs`"
        );
    }

    #[test]
    fn crate_overrides_the_facade_path() {
        let quoted = parse(quote!(crate = "my::gmp")).unwrap();
        assert_eq!(quoted.krate().to_string(), quote!(my::gmp).to_string());
        let bare = parse(quote!(procs = 3, crate = ::other)).unwrap();
        assert_eq!(bare.krate().to_string(), quote!(::other).to_string());
        assert_eq!(bare.procs.map(|(n, _)| n), Some(3));
    }

    #[test]
    fn start_paused_is_a_bool() {
        let args = parse(quote!(start_paused = true, procs = 1)).unwrap();
        assert!(args.start_paused.map(|b| b.value).unwrap());
        assert_eq!(
            error(quote!(start_paused = 1)),
            "start_paused must be `true` or `false`"
        );
        assert_eq!(
            error(quote!(start_paused = true, start_paused = false)),
            "duplicate argument `start_paused`"
        );
    }

    #[test]
    fn duplicate_crate_is_rejected() {
        assert_eq!(
            error(quote!(crate = "a", crate = "b")),
            "duplicate argument `crate`"
        );
    }
}
