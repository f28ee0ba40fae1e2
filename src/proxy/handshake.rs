//! The handshake's driver: which stage waits for which reply, what goes out next, and the
//! failure that names the proxy. The messages themselves are `socks.rs`'s and `http.rs`'s.

use super::{
    Credentials, Destination, Failure, Progress, Protocol, Proxy, ProxyError, http, socks,
};

/// Drives one proxy handshake; see the module docs.
#[derive(Debug)]
pub struct ProxyHandshake {
    proxy: String,
    had_credentials: bool,
    stage: Stage,
    /// The reply bytes of the current stage received so far.
    got: Vec<u8>,
}

#[derive(Debug)]
enum Stage {
    /// SOCKS4 request sent; waiting for the 8-byte reply.
    Socks4Reply,
    /// SOCKS5 greeting sent; waiting for the chosen method. `request` goes out after it.
    Socks5Method {
        request: Vec<u8>,
        credentials: Option<Credentials>,
    },
    /// RFC 1929 user name and password sent; waiting for their verdict.
    Socks5Auth {
        request: Vec<u8>,
    },
    /// SOCKS5 CONNECT request sent; waiting for the reply.
    Socks5Reply,
    /// HTTP CONNECT sent; waiting for the reply header.
    HttpReply,
    Done,
    Failed(Failure),
}

impl ProxyHandshake {
    /// Starts a handshake asking `proxy` for a connection to `host` (a name or an IP literal,
    /// brackets allowed) on `port`; appends the first request to `out`. Fails before sending
    /// anything when the protocol cannot express the destination.
    pub fn new(
        proxy: &Proxy,
        host: &str,
        port: u16,
        out: &mut Vec<u8>,
    ) -> Result<ProxyHandshake, ProxyError> {
        let fail = |why: String| ProxyError {
            proxy: proxy.to_string(),
            failure: Failure::Destination(why),
        };
        let destination = Destination::parse(host).map_err(&fail)?;
        let credentials = proxy.credentials.clone();
        let stage = match proxy.protocol {
            Protocol::Socks4 => {
                out.extend_from_slice(
                    &socks::socks4_request(&destination, port, &credentials).map_err(fail)?,
                );
                Stage::Socks4Reply
            }
            Protocol::Socks5 => {
                let request = socks::socks5_request(&destination, port).map_err(fail)?;
                socks::socks5_greeting(&credentials, out).map_err(fail)?;
                Stage::Socks5Method {
                    request,
                    credentials,
                }
            }
            Protocol::HttpConnect => {
                out.extend_from_slice(&http::request(&destination, port, &credentials));
                Stage::HttpReply
            }
        };
        Ok(ProxyHandshake {
            proxy: proxy.to_string(),
            had_credentials: proxy.credentials.is_some(),
            stage,
            got: Vec::new(),
        })
    }

    /// Feeds bytes received from the proxy. Consumes only the proxy's replies, never a byte
    /// beyond, and returns how many it consumed: the rest belongs to the session. Appends any
    /// next request to `out`. Any split of the input gives the same result.
    pub fn receive(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ProxyError> {
        let result = self.advance(input, out);
        if let Err(failure) = &result {
            self.stage = Stage::Failed(failure.clone());
        }
        result.map_err(|failure| self.error(failure))
    }

    /// True once the proxy has granted the connection: from here on, bytes are the session's.
    pub fn is_complete(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    /// The error for the proxy closing the connection before the handshake completed.
    pub fn closed(&self) -> ProxyError {
        self.final_or(Failure::Closed)
    }

    /// The error for the deadline (`-w`) passing before the handshake completed.
    pub fn timed_out(&self) -> ProxyError {
        self.final_or(Failure::TimedOut)
    }

    /// An earlier failure stays the one reported.
    fn final_or(&self, failure: Failure) -> ProxyError {
        match &self.stage {
            Stage::Failed(earlier) => self.error(earlier.clone()),
            _ => self.error(failure),
        }
    }

    fn error(&self, failure: Failure) -> ProxyError {
        ProxyError {
            proxy: self.proxy.clone(),
            failure,
        }
    }

    fn advance(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, Failure> {
        if let Stage::Failed(failure) = &self.stage {
            return Err(failure.clone());
        }
        let mut used = 0;
        while used < input.len() {
            let check = match &self.stage {
                Stage::Done | Stage::Failed(_) => break,
                Stage::Socks4Reply => socks::socks4_reply,
                Stage::Socks5Method { .. } => socks::socks5_method_reply,
                Stage::Socks5Auth { .. } => socks::user_password_reply,
                Stage::Socks5Reply => socks::socks5_reply,
                Stage::HttpReply => http::reply,
            };
            self.got.push(input[used]);
            used += 1;
            let progress = match check(&self.got) {
                // The reply functions cannot know whether credentials were sent.
                Err(Failure::AuthRequired(reply)) if self.had_credentials => {
                    Err(Failure::AuthRejected(reply))
                }
                other => other,
            };
            if let Progress::Complete = progress? {
                self.next_stage(out)?;
            }
        }
        Ok(used)
    }

    /// The current stage's reply is complete and good: send what comes next.
    fn next_stage(&mut self, out: &mut Vec<u8>) -> Result<(), Failure> {
        let reply = std::mem::take(&mut self.got);
        self.stage = match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Socks5Method {
                request,
                credentials,
            } => {
                if socks::method_chosen(reply[1], credentials, out)? {
                    Stage::Socks5Auth { request }
                } else {
                    out.extend_from_slice(&request);
                    Stage::Socks5Reply
                }
            }
            Stage::Socks5Auth { request } => {
                out.extend_from_slice(&request);
                Stage::Socks5Reply
            }
            _ => Stage::Done,
        };
        Ok(())
    }
}
