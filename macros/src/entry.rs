//! Turning an `async fn` into the sync entry point that runs it.
//!
//! ```text
//! #[gmp::main(procs = 4)]            fn main() -> R {
//! async fn main() -> R { body }  =>      ::gmp::__private::block_on_main(
//!                                            Some::<usize>(4usize),
//!                                            async move { body },
//!                                        )
//!                                    }
//! ```
//!
//! `#[gmp::test]` is the same with `block_on_test` and a `#[test]` in front.
//! The signature, attributes and body keep their tokens and spans, so an error
//! in the body points at the user's code, and `?` in the body converts into
//! the declared return type exactly as it would in a sync `main`. The runner
//! call itself carries the span of the body's last token, so a body whose value
//! does not match the return type is reported there, not on the attribute.
//!
//! When something is wrong we still emit an item next to the error: the
//! expansion with default arguments when only the arguments are bad, else the
//! function as written (an empty `fn main() {}` for `main`, which rustc would
//! otherwise also reject for being async). One mistake then gives one error,
//! not a cascade of "`main` function not found" or unresolved names.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::ItemFn;

use crate::args::{parse_args, Args};

/// Which attribute is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `#[gmp::main]`: the program's entry point, on the global runtime.
    Main,
    /// `#[gmp::test]`: one test, on a runtime of its own.
    Test,
}

impl Entry {
    /// The attribute as the user wrote it, for error messages.
    fn attr(self) -> &'static str {
        match self {
            Entry::Main => "#[gmp::main]",
            Entry::Test => "#[gmp::test]",
        }
    }

    /// The function in `gmp::__private` that drives the body to completion.
    fn runner(self) -> Ident {
        let name = match self {
            Entry::Main => "block_on_main",
            Entry::Test => "block_on_test",
        };
        Ident::new(name, Span::call_site())
    }
}

/// Expands `#[gmp::main(attr)]` or `#[gmp::test(attr)]` on `item`.
pub(crate) fn expand(entry: Entry, attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(e) => return with_error(e, item),
    };
    let args = parse_args(attr).and_then(|args| match (&args.start_paused, entry) {
        (Some(lit), Entry::Main) => Err(syn::Error::new(
            lit.span(),
            "start_paused is for #[gmp::test]: #[gmp::main] runs on the global runtime",
        )),
        _ => Ok(args),
    });
    match (args, check_signature(entry, &func)) {
        (Ok(args), Ok(())) => generate(entry, &args, func),
        // The function itself is fine: expand it as if the arguments were
        // absent, so the body is still type-checked and `main` still exists.
        (Err(e), Ok(())) => with_error(e, generate(entry, &Args::default(), func)),
        (Ok(_), Err(e)) => with_error(e, fallback(entry, &func, item)),
        (Err(mut e), Err(shape)) => {
            e.combine(shape);
            with_error(e, fallback(entry, &func, item))
        }
    }
}

/// What to emit next to the errors when the signature cannot be expanded.
///
/// The function as written keeps its name resolvable, which is all a test
/// needs. A `main` as written would add rustc's own complaints (async `main`,
/// `main` with arguments) to ours, so it is replaced by an empty `fn main()`
/// until the signature is fixed.
fn fallback(entry: Entry, func: &ItemFn, item: TokenStream) -> TokenStream {
    if entry == Entry::Main && func.sig.ident == "main" {
        let ident = &func.sig.ident;
        quote!(fn #ident() {})
    } else {
        item
    }
}

/// Rejects signatures the runner cannot call: not `async`, with arguments,
/// generic, or (for tests) already carrying `#[test]`. All problems are
/// reported at once.
fn check_signature(entry: Entry, func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    let name = &sig.ident;
    let mut errors: Vec<syn::Error> = Vec::new();

    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format_args!("{} requires an async fn", entry.attr()),
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            format_args!(
                "`{name}` cannot take arguments: {} calls it with none",
                entry.attr()
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format_args!("`{name}` cannot be generic under {}", entry.attr()),
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            where_clause,
            format_args!("`{name}` cannot have a where clause under {}", entry.attr()),
        ));
    }
    if entry == Entry::Test {
        for attr in &func.attrs {
            if attr.path().is_ident("test") {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "#[gmp::test] already adds #[test]; remove this one",
                ));
            }
        }
    }

    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// The sync function that hands the body to the runtime.
fn generate(entry: Entry, args: &Args, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    sig.asyncness = None;

    let procs = args.procs_expr();
    let runner = match (entry, &args.start_paused) {
        (Entry::Test, Some(lit)) if lit.value => Ident::new("block_on_test_paused", lit.span()),
        _ => entry.runner(),
    };
    let test_attr = match entry {
        Entry::Main => quote!(),
        // Fully qualified so a user's own `test` item cannot shadow it.
        Entry::Test => quote!(#[::core::prelude::v1::test]),
    };

    // The call carries the span of the body's last token, so a body whose
    // value does not match the return type is reported there, not on the
    // attribute.
    let last = block
        .stmts
        .last()
        .and_then(|stmt| stmt.to_token_stream().into_iter().last())
        .map_or_else(|| block.brace_token.span.close(), |token| token.span());
    // The path comes first in the call, and a call's span is its first
    // token's on stable Rust, so it must carry `last` too.
    let krate = respan(args.krate(), last);
    let call = quote_spanned! {last=>
        #krate::__private::#runner(#procs, async move #block)
    };

    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #call
        }
    }
}

/// `tokens` with every token, inside groups too, given `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

fn with_error(error: syn::Error, item: TokenStream) -> TokenStream {
    let mut out = error.to_compile_error();
    item.to_tokens(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(entry: Entry, attr: TokenStream, item: TokenStream) -> String {
        normalized(expand(entry, attr, item))
    }

    /// Tokens printed after a round trip through syn, so `>>` and `> >`
    /// compare equal.
    fn normalized(tokens: TokenStream) -> String {
        let file: syn::File = syn::parse2(tokens).expect("expansion parses");
        file.into_token_stream().to_string()
    }

    /// The compile errors in an expansion, in order.
    fn errors(entry: Entry, attr: TokenStream, item: TokenStream) -> Vec<String> {
        let file: syn::File = syn::parse2(expand(entry, attr, item)).expect("expansion parses");
        file.items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Macro(m)
                    if m.mac.path.segments.last().unwrap().ident == "compile_error" =>
                {
                    Some(m.mac.parse_body::<syn::LitStr>().unwrap().value())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn main_becomes_a_sync_fn_that_blocks_on_its_body() {
        let out = expanded(
            Entry::Main,
            quote!(),
            quote! {
                async fn main() {
                    work().await;
                }
            },
        );
        let want = quote! {
            fn main() {
                ::gmp::__private::block_on_main(
                    ::core::option::Option::None::<usize>,
                    async move { work().await; }
                )
            }
        };
        assert_eq!(out, normalized(want));
    }

    #[test]
    fn main_keeps_its_return_type_and_procs() {
        let out = expanded(
            Entry::Main,
            quote!(procs = 4),
            quote! {
                async fn main() -> Result<(), Box<dyn std::error::Error>> {
                    run().await?;
                    Ok(())
                }
            },
        );
        let want = quote! {
            fn main() -> Result<(), Box<dyn std::error::Error>> {
                ::gmp::__private::block_on_main(
                    ::core::option::Option::Some::<usize>(4usize),
                    async move { run().await?; Ok(()) }
                )
            }
        };
        assert_eq!(out, normalized(want));
    }

    #[test]
    fn test_gets_a_test_attribute_and_keeps_its_own() {
        let out = expanded(
            Entry::Test,
            quote!(procs = 1),
            quote! {
                /// Checks a thing.
                #[should_panic(expected = "boom")]
                #[allow(unused_variables)]
                async fn panics() {
                    panic!("boom");
                }
            },
        );
        let want = quote! {
            #[::core::prelude::v1::test]
            #[doc = r" Checks a thing."]
            #[should_panic(expected = "boom")]
            #[allow(unused_variables)]
            fn panics() {
                ::gmp::__private::block_on_test(
                    ::core::option::Option::Some::<usize>(1usize),
                    async move { panic!("boom"); }
                )
            }
        };
        assert_eq!(out, normalized(want));
    }

    #[test]
    fn start_paused_test_runs_on_a_paused_runtime() {
        let out = expanded(
            Entry::Test,
            quote!(start_paused = true),
            quote!(
                async fn t() {}
            ),
        );
        let want = quote! {
            #[::core::prelude::v1::test]
            fn t() {
                ::gmp::__private::block_on_test_paused(
                    ::core::option::Option::None::<usize>,
                    async move {}
                )
            }
        };
        assert_eq!(out, normalized(want));
        let off = expanded(
            Entry::Test,
            quote!(start_paused = false),
            quote!(
                async fn t() {}
            ),
        );
        assert!(off.contains("block_on_test ("), "{off}");
    }

    #[test]
    fn start_paused_on_main_is_rejected() {
        assert_eq!(
            errors(
                Entry::Main,
                quote!(start_paused = true),
                quote!(
                    async fn main() {}
                )
            ),
            ["start_paused is for #[gmp::test]: #[gmp::main] runs on the global runtime"]
        );
    }

    #[test]
    fn crate_argument_replaces_the_facade_path() {
        let out = expanded(
            Entry::Test,
            quote!(crate = "reexport::gmp"),
            quote!(
                async fn t() {}
            ),
        );
        assert!(
            out.contains(&quote!(reexport::gmp::__private::block_on_test).to_string()),
            "runner not called through the `crate` path: {out}"
        );
    }

    #[test]
    fn sync_fn_is_rejected() {
        assert_eq!(
            errors(
                Entry::Main,
                quote!(),
                quote!(
                    fn main() {}
                )
            ),
            ["#[gmp::main] requires an async fn"]
        );
        assert_eq!(
            errors(
                Entry::Test,
                quote!(),
                quote!(
                    fn t() {}
                )
            ),
            ["#[gmp::test] requires an async fn"]
        );
    }

    #[test]
    fn main_with_arguments_or_generics_is_rejected() {
        assert_eq!(
            errors(
                Entry::Main,
                quote!(),
                quote!(
                    async fn main(argc: i32) {}
                )
            ),
            ["`main` cannot take arguments: #[gmp::main] calls it with none"]
        );
        assert_eq!(
            errors(
                Entry::Main,
                quote!(),
                quote!(
                    async fn main<T>() {}
                )
            ),
            ["`main` cannot be generic under #[gmp::main]"]
        );
    }

    #[test]
    fn main_with_a_bad_signature_leaves_an_empty_main() {
        let out = expand(
            Entry::Main,
            quote!(),
            quote!(
                async fn main(argc: i32) {}
            ),
        );
        let file: syn::File = syn::parse2(out).unwrap();
        let fns: Vec<String> = file
            .items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Fn(f) => Some(f.to_token_stream().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            fns,
            [quote!(
                fn main() {}
            )
            .to_string()]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errs = errors(
            Entry::Main,
            quote!(threads = 2),
            quote!(
                fn main(x: u8) {}
            ),
        );
        assert_eq!(
            errs,
            [
                "unknown argument `threads`, expected `procs`, `start_paused` or `crate`",
                "#[gmp::main] requires an async fn",
                "`main` cannot take arguments: #[gmp::main] calls it with none",
            ]
        );
    }

    #[test]
    fn bad_arguments_still_expand_the_function() {
        let out = expand(
            Entry::Main,
            quote!(procs = 0),
            quote!(
                async fn main() {}
            ),
        );
        let file: syn::File = syn::parse2(out).unwrap();
        let main = file.items.iter().find_map(|item| match item {
            syn::Item::Fn(f) => Some(f),
            _ => None,
        });
        let main = main.expect("a `main` next to the error");
        assert!(main.sig.asyncness.is_none(), "main left async");
        assert_eq!(
            errors(
                Entry::Main,
                quote!(procs = 0),
                quote!(
                    async fn main() {}
                )
            ),
            ["procs must be at least 1"]
        );
    }

    #[test]
    fn test_with_its_own_test_attribute_is_rejected() {
        assert_eq!(
            errors(
                Entry::Test,
                quote!(),
                quote!(
                    #[test]
                    async fn t() {}
                )
            ),
            ["#[gmp::test] already adds #[test]; remove this one"]
        );
    }
}
