//! reqwest (a tokio-only client) on gmp through the tokio bridge, against a
//! gmp hyper server on 127.0.0.1.

use std::convert::Infallible;
use std::time::Duration;

use gmp::compat::hyper::Timer;
use gmp::compat::tokio::compat;
use gmp::net::TcpListener;
use gmp::time::timeout;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Response;

const LIMIT: Duration = Duration::from_secs(60);

#[gmp::test(procs = 2)]
async fn reqwest_through_the_bridge_against_a_gmp_hyper_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    gmp::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            gmp::spawn(async move {
                let service = hyper::service::service_fn(|req: hyper::Request<_>| async move {
                    let text = format!("gmp saw {}", req.uri().path());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .serve_connection(stream, service)
                    .await;
            });
        }
    });
    let bodies = timeout(
        LIMIT,
        gmp::spawn(compat(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client");
            let mut bodies = Vec::new();
            for i in 0..5 {
                let resp = client
                    .get(format!("http://{addr}/q{i}"))
                    .send()
                    .await
                    .expect("reqwest send");
                assert_eq!(resp.status(), 200);
                bodies.push(resp.text().await.expect("reqwest body"));
            }
            bodies
        })),
    )
    .await
    .expect("reqwest stalled")
    .expect("task");
    let want: Vec<_> = (0..5).map(|i| format!("gmp saw /q{i}")).collect();
    assert_eq!(bodies, want);
}
