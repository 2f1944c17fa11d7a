//! Real local peers for delivery tests: a minimal SMTP server that keeps what it is
//! sent, and a push service endpoint that keeps the requests it receives.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the SMTP server received it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub rcpt: Vec<String>,
    pub data: Vec<u8>,
}

pub struct SmtpServer {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let m = mails.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let m = m.clone();
                tokio::spawn(async move {
                    let (r, mut w) = s.into_split();
                    let mut r = BufReader::new(r);
                    w.write_all(b"220 test.local ESMTP\r\n").await.unwrap();
                    let mut rcpt = Vec::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end().to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                            b"250-test.local\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                        } else if cmd.starts_with("RCPT TO:") {
                            rcpt.push(
                                line.trim_end()[8..]
                                    .trim()
                                    .trim_matches(['<', '>'])
                                    .to_owned(),
                            );
                            b"250 OK\r\n"
                        } else if cmd == "DATA" {
                            w.write_all(b"354 go ahead\r\n").await.unwrap();
                            let mut data = Vec::new();
                            loop {
                                let mut l = Vec::new();
                                r.read_until(b'\n', &mut l).await.unwrap();
                                if l == b".\r\n" || l.is_empty() {
                                    break;
                                }
                                // Undo dot-stuffing.
                                let l = if l.starts_with(b"..") {
                                    l[1..].to_vec()
                                } else {
                                    l
                                };
                                data.extend_from_slice(&l);
                            }
                            m.lock().unwrap().push(Mail {
                                rcpt: std::mem::take(&mut rcpt),
                                data,
                            });
                            b"250 queued\r\n"
                        } else if cmd == "QUIT" {
                            w.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        } else {
                            b"250 OK\r\n"
                        };
                        w.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        SmtpServer { port, mails }
    }
}

/// One HTTP request to the push endpoint.
#[derive(Clone, Debug)]
pub struct PushRequest {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl PushRequest {
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
}

pub struct PushService {
    pub base: String,
    pub requests: Arc<Mutex<Vec<PushRequest>>>,
}

impl PushService {
    /// Answers 201, or 410 for paths under `/gone/`.
    pub async fn start() -> PushService {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let q = requests.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let q = q.clone();
                tokio::spawn(async move {
                    let (r, mut w) = s.into_split();
                    let mut r = BufReader::new(r);
                    loop {
                        let mut start = String::new();
                        if r.read_line(&mut start).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let path = start.split(' ').nth(1).unwrap_or("").to_owned();
                        let mut headers = Vec::new();
                        loop {
                            let mut h = String::new();
                            r.read_line(&mut h).await.unwrap();
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            let (k, v) = h.split_once(':').unwrap();
                            headers.push((k.trim().to_owned(), v.trim().to_owned()));
                        }
                        let len: usize = headers
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                            .map(|(_, v)| v.parse().unwrap())
                            .unwrap_or(0);
                        let mut body = vec![0; len];
                        r.read_exact(&mut body).await.unwrap();
                        let status = if path.starts_with("/gone/") {
                            "410 Gone"
                        } else {
                            "201 Created"
                        };
                        q.lock().unwrap().push(PushRequest {
                            path,
                            headers,
                            body,
                        });
                        let res = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                        w.write_all(res.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        PushService { base, requests }
    }
}
