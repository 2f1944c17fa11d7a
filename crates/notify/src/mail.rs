//! E-mail over SMTP (lettre, rustls): plain text, UTF-8, one recipient per message.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::SendError;

/// How to reach the SMTP server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain, then STARTTLS, refusing to go on without it (port 587).
    StartTls,
    /// No TLS: only for a relay on this machine.
    None,
}

#[derive(Clone, Debug)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `TEKKAN <noreply@example.jp>`
    pub from: String,
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(s: &MailSettings) -> Result<Self, SendError> {
        let fatal = |e: &dyn std::fmt::Display| SendError::Fatal(e.to_string());
        let from: Mailbox = s.from.parse().map_err(|e| fatal(&e))?;
        let mut b = match s.security {
            Security::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(|e| fatal(&e))?
            }
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| fatal(&e))?,
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        }
        .port(s.port)
        .timeout(Some(std::time::Duration::from_secs(20)));
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            b = b.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Self {
            transport: b.build(),
            from,
        })
    }

    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e: lettre::address::AddressError| SendError::Fatal(e.to_string()))?;
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| SendError::Fatal(e.to_string()))?;
        match self.transport.send(msg).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Fatal(e.to_string())),
            Err(e) => Err(SendError::Retry(e.to_string())),
        }
    }
}
