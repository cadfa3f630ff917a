//! One connection: read requests, answer each, until the client closes or asks to close.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::date::{DateCache, LEN as DATE_LEN};

/// Largest request head accepted (request line and headers): the read buffer, one page, on
/// the connection thread's stack.
const MAX_HEAD: usize = 4096;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\
Server: cmbench-rust\r\nDate: ";
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\
Server: cmbench-rust\r\nDate: ";
const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\
Server: cmbench-rust\r\nDate: ";
const TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\
Server: cmbench-rust\r\nDate: ";
const BODY: &[u8] = b"Hello, World!";

pub fn serve(mut stream: TcpStream) {
    let mut buf = [0u8; MAX_HEAD];
    let mut filled = 0;
    let mut out = Vec::with_capacity(512);
    let mut date = DateCache::new();
    loop {
        match stream.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        // Answer every complete request in the buffer (a client may send the next request
        // before it has read the previous response), then write the answers at once.
        let mut consumed = 0;
        let mut close = false;
        while !close {
            match parse(&buf[consumed..filled]) {
                Parsed::Partial => break,
                Parsed::Invalid => {
                    respond(&mut out, BAD_REQUEST, date.get(), true, b"");
                    close = true;
                }
                Parsed::Request {
                    len,
                    found,
                    keep_alive,
                } => {
                    consumed += len;
                    close = !keep_alive;
                    if found {
                        respond(&mut out, OK, date.get(), close, BODY);
                    } else {
                        respond(&mut out, NOT_FOUND, date.get(), close, b"");
                    }
                }
            }
        }
        if !close && consumed == 0 && filled == buf.len() {
            respond(&mut out, TOO_LARGE, date.get(), true, b"");
            close = true;
        }
        if (!out.is_empty() && stream.write_all(&out).is_err()) || close {
            return;
        }
        out.clear();
        buf.copy_within(consumed..filled, 0);
        filled -= consumed;
    }
}

fn respond(out: &mut Vec<u8>, head: &[u8], date: &[u8; DATE_LEN], close: bool, body: &[u8]) {
    out.extend_from_slice(head);
    out.extend_from_slice(date);
    if close {
        out.extend_from_slice(b"\r\nConnection: close");
    }
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

#[derive(Debug, PartialEq)]
enum Parsed {
    /// The head is not complete yet.
    Partial,
    Invalid,
    Request {
        /// Bytes of the head, blank line included.
        len: usize,
        /// `GET /plaintext`.
        found: bool,
        keep_alive: bool,
    },
}

fn parse(data: &[u8]) -> Parsed {
    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Parsed::Partial;
    };
    let mut lines = data[..end]
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let mut parts = lines.next().unwrap_or_default().split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Invalid;
    };
    let mut keep_alive = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        _ => return Parsed::Invalid,
    };
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Parsed::Invalid;
        };
        if line[..colon].eq_ignore_ascii_case(b"connection") {
            for token in line[colon + 1..].split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        }
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    Parsed::Request {
        len: end + 4,
        found: method == b"GET" && path == b"/plaintext",
        keep_alive,
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Parsed};

    #[test]
    fn requests() {
        let get = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /";
        assert_eq!(
            parse(get),
            Parsed::Request {
                len: 36,
                found: true,
                keep_alive: true
            }
        );
        assert_eq!(parse(&get[36..]), Parsed::Partial);
        assert_eq!(
            parse(b"GET /x HTTP/1.1\r\nConnection: Close\r\n\r\n"),
            Parsed::Request {
                len: 38,
                found: false,
                keep_alive: false
            }
        );
        assert_eq!(
            parse(b"GET /plaintext HTTP/1.0\r\nconnection: keep-alive\r\n\r\n"),
            Parsed::Request {
                len: 51,
                found: true,
                keep_alive: true
            }
        );
        assert_eq!(parse(b"GET /plaintext\r\n\r\n"), Parsed::Invalid);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nbogus\r\n\r\n"), Parsed::Invalid);
    }
}
