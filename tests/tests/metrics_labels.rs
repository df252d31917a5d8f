//! `/metrics` labels RPCs only with the court.v1 methods that exist: calls to made-up paths
//! (unauthenticated, from anyone) all share one `unknown` label, so they cannot grow the number
//! of series. (A file of its own: the metrics recorder is global to the test process.)
use std::collections::BTreeMap;
use std::str::FromStr;

use opencourt_tests::*;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::Code;

/// Every `opencourt_rpc_total` series of `/metrics` with its value.
async fn rpc_series(t: &TestApp) -> BTreeMap<String, f64> {
    let (code, body) = http_get(t.addr, "/metrics", None).await;
    assert_eq!(code, 200);
    String::from_utf8(body)
        .expect("utf-8")
        .lines()
        .filter(|l| l.starts_with("opencourt_rpc_total{"))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("{l:?}"));
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_share_one_unknown_series() {
    let t = TestApp::start(Db::Sqlite).await;
    t.scene("labels", opencourt_proto::v1::Visibility::Public)
        .await;
    let before = rpc_series(&t).await;
    assert!(
        before
            .keys()
            .any(|k| k.contains("/court.v1.AuthService/Login")),
        "known methods keep their own label: {before:#?}"
    );

    let mut grpc = tonic::client::Grpc::new(t.channel().await);
    for i in 0..200 {
        // half under services that do not exist, half made-up methods of real ones
        let path = if i % 2 == 0 {
            format!("/court.v1.MadeUp{i}Service/Call")
        } else {
            format!("/court.v1.AuthService/Guess{i}")
        };
        grpc.ready().await.expect("channel ready");
        let r: Result<tonic::Response<()>, tonic::Status> = grpc
            .unary(
                tonic::Request::new(()),
                PathAndQuery::from_str(&path).unwrap(),
                tonic_prost::ProstCodec::<(), ()>::default(),
            )
            .await;
        assert_eq!(code_of(&r), Code::Unimplemented, "{path}: {r:?}");
    }

    let after = rpc_series(&t).await;
    let unknown = format!(
        "opencourt_rpc_total{{method=\"unknown\",code=\"{}\"}}",
        Code::Unimplemented as i32
    );
    let added: Vec<(&String, &f64)> = after
        .iter()
        .filter(|(k, _)| !before.contains_key(*k))
        .collect();
    assert_eq!(added, [(&unknown, &200.0)], "{after:#?}");
    assert_eq!(after.len(), before.len() + 1);
    t.stop().await;
}
