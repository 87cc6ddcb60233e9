//! An axum `Router` served on gmp through hyper-util's
//! `TowerToHyperService` (features `hyper`; axum without default features).

use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use gmp::compat::hyper::{Executor, Timer};
use gmp::net::{TcpListener, TcpStream};
use gmp::time::timeout;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::service::TowerToHyperService;

const LIMIT: Duration = Duration::from_secs(60);

fn app() -> Router {
    Router::new().route("/", get(|| async { "root" })).route(
        "/hello/{name}",
        get(|Path(name): Path<String>| async move { format!("hello {name}") }),
    )
}

#[gmp::test(procs = 2)]
async fn axum_router_routes_requests_served_on_gmp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    gmp::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            let service = TowerToHyperService::new(app());
            gmp::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(Executor)
                    .http1()
                    .timer(Timer)
                    .serve_connection(stream, service)
                    .await;
            });
        }
    });
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream)
        .await
        .expect("handshake");
    gmp::spawn(conn);
    for (path, want_status, want_body) in [
        ("/", 200, "root"),
        ("/hello/gopher", 200, "hello gopher"),
        ("/missing", 404, ""),
    ] {
        timeout(LIMIT, sender.ready())
            .await
            .expect("connection never ready")
            .expect("connection closed");
        let req = Request::get(path)
            .header("host", "localhost")
            .body(Empty::<Bytes>::new())
            .expect("request");
        let resp = timeout(LIMIT, sender.send_request(req))
            .await
            .expect("request stalled")
            .expect("send_request");
        assert_eq!(resp.status(), want_status, "{path}");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(body, want_body, "{path}");
    }
}
