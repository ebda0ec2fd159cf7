//! Unit tests of the client: retry jitter, one shared connection, and redirect hosts.

use super::*;

#[test]
fn jitter_stays_under_the_exponential_ceiling() {
    for attempt in 0..8 {
        let ceiling = BACKOFF_BASE.saturating_mul(1 << attempt).min(BACKOFF_CAP);
        for _ in 0..50 {
            assert!(full_jitter(attempt) < ceiling);
        }
    }
}

/// A server on 127.0.0.1 that answers each request on a connection with the next of
/// `answers` (status line and body), and counts connections and requests.
fn serve(
    answers: Vec<(&'static str, &'static str)>,
) -> (String, std::thread::JoinHandle<(usize, Vec<String>)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut stream = stream;
        let mut requests = Vec::new();
        for (status, body) in answers {
            let mut head = String::new();
            while !head.ends_with("\r\n\r\n") && reader.read_line(&mut head).unwrap() > 0 {}
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |n| n.parse().unwrap());
            let mut sent = vec![0; length];
            reader.read_exact(&mut sent).unwrap();
            let line = head.lines().next().unwrap();
            requests.push(format!("{line}{}", String::from_utf8(sent).unwrap()));
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).unwrap();
        }
        listener.set_nonblocking(true).unwrap();
        (
            1 + std::iter::from_fn(|| listener.accept().ok()).count(),
            requests,
        )
    });
    (url, server)
}

#[test]
fn endpoints_share_one_connection_and_a_created_key_is_never_quoted() {
    let (url, server) = serve(vec![
        ("200 OK", r#"{"email":"a@b"}"#),
        ("200 OK", r#"{"api_key":"new01.CreatedSecretCreated"}"#),
        ("404 Not Found", "no team for new01.CreatedSecretCreated"),
    ]);
    let settings = ApiSettings {
        timeout: Duration::from_secs(5),
        ..ApiSettings::default()
    };
    let client = Client::new(&url, &settings).unwrap();
    let key = ApiKey::new("kid01.Zx9qv7Lw3pTtQ".into());
    let me = client
        .request::<serde_json::Value>(Method::GET, "/v1/users/me", None, &key)
        .unwrap();
    assert!(matches!(me, Response::Ok(v) if v["email"] == "a@b"));
    #[derive(serde::Deserialize)]
    struct Created {
        api_key: ApiKey,
    }
    let body = serde_json::json!({"name": "ci", "type": "PERSONAL"});
    let Response::Ok(created) = client
        .request::<Created>(Method::POST, "/v1/api_keys", Some(&body), &key)
        .unwrap()
    else {
        panic!("not created");
    };
    assert_eq!(created.api_key.expose(), "new01.CreatedSecretCreated");
    let teams = client
        .request::<serde_json::Value>(Method::GET, "/v1/teams", None, &key)
        .unwrap();
    let Response::Status { status, excerpt } = teams else {
        panic!("not a status")
    };
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!excerpt.contains("CreatedSecret"), "{excerpt}");
    let (connections, requests) = server.join().unwrap();
    assert_eq!(connections, 1, "{requests:?}");
    assert_eq!(
        requests[1],
        r#"POST /v1/api_keys HTTP/1.1{"name":"ci","type":"PERSONAL"}"#
    );
}

#[test]
fn redirect_hosts_are_plain_and_never_spell_the_key() {
    let keys = Keys::default();
    keys.arm(&ApiKey::new("kid01.Zx9qv7Lw3pTtQ".into()));
    let base = Url::parse("https://api.example/v1/users/me").unwrap();
    let host = |l: &str| keys.location_text(&location_host(&base, l));
    assert_eq!(host("https://zx9qv7l.w3pttq.example/x"), "****");
    assert_eq!(host("https://ZX9-QV7-LW3-PTT-Q.example/x"), "****");
    assert_eq!(host("https://other.example:8443/"), "other.example:8443");
    assert_eq!(host("/relative"), "api.example");
}
