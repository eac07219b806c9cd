//! The byte pipe to a device: a serial port, or a Unix socket (QEMU's UART).

use super::DeviceError;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A bidirectional byte stream with timed reads (`Send`: a device may be driven from a
/// worker thread, as the Python module does).
pub trait Transport: Send {
    /// Sends every byte.
    fn send(&mut self, bytes: &[u8]) -> Result<(), DeviceError>;
    /// Reads at least one byte into `buf` before `deadline`; [`DeviceError::Timeout`]
    /// when nothing arrives.
    fn receive(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize, DeviceError>;
}

/// Opens `port`: the UART socket of a QEMU (`microdense device --qemu --keep`) when it is
/// a Unix socket, else a serial port at `baud`.
pub fn open_port(port: &str, baud: u32) -> Result<Box<dyn Transport>, DeviceError> {
    use std::os::unix::fs::FileTypeExt;
    let path = Path::new(port);
    if std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        Ok(Box::new(SocketTransport::connect(path)?))
    } else {
        Ok(Box::new(SerialTransport::open(port, baud)?))
    }
}

/// The time left until `deadline`, or a timeout error naming `what`.
fn left(deadline: Instant, what: &str) -> Result<Duration, DeviceError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(DeviceError::Timeout { what: what.into() });
    }
    Ok(left)
}

/// Maps a read's result: data, a timeout, end of stream or an I/O error.
fn read_result(result: io::Result<usize>, name: &str) -> Result<usize, DeviceError> {
    match result {
        Ok(0) => Err(DeviceError::Io {
            what: format!("reading {name}"),
            source: io::Error::new(io::ErrorKind::UnexpectedEof, "the other end closed the line"),
        }),
        Ok(n) => Ok(n),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            Err(DeviceError::Timeout {
                what: format!("a reply on {name}"),
            })
        }
        Err(source) => Err(DeviceError::Io {
            what: format!("reading {name}"),
            source,
        }),
    }
}

/// A Unix socket: QEMU's UART (`-chardev socket,...`).
pub struct SocketTransport {
    stream: UnixStream,
    name: String,
}

impl SocketTransport {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> Result<Self, DeviceError> {
        let stream = UnixStream::connect(path).map_err(|source| DeviceError::Io {
            what: format!("connecting to {}", path.display()),
            source,
        })?;
        Ok(Self::from_stream(stream, path.display().to_string()))
    }

    /// Wraps a connected stream; `name` appears in errors.
    pub fn from_stream(stream: UnixStream, name: String) -> Self {
        SocketTransport { stream, name }
    }
}

impl Transport for SocketTransport {
    fn send(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|source| DeviceError::Io {
                what: format!("writing {} bytes to {}", bytes.len(), self.name),
                source,
            })
    }

    fn receive(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize, DeviceError> {
        let timeout = left(deadline, &format!("a reply on {}", self.name))?;
        self.stream
            .set_read_timeout(Some(timeout))
            .map_err(|source| DeviceError::Io {
                what: format!("setting the read timeout of {}", self.name),
                source,
            })?;
        read_result(self.stream.read(buf), &self.name)
    }
}

/// A serial port (USB CDC or a UART adapter), 8N1 without flow control.
pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
    name: String,
}

impl SerialTransport {
    /// Opens `path` at `baud`.
    pub fn open(path: &str, baud: u32) -> Result<Self, DeviceError> {
        let port = serialport::new(path, baud)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|e| DeviceError::Io {
                what: format!("opening serial port {path} at {baud} baud"),
                source: io::Error::other(e.to_string()),
            })?;
        Ok(SerialTransport {
            port,
            name: path.to_string(),
        })
    }
}

impl Transport for SerialTransport {
    fn send(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        self.port
            .write_all(bytes)
            .and_then(|()| self.port.flush())
            .map_err(|source| DeviceError::Io {
                what: format!("writing {} bytes to {}", bytes.len(), self.name),
                source,
            })
    }

    fn receive(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize, DeviceError> {
        let timeout = left(deadline, &format!("a reply on {}", self.name))?;
        self.port.set_timeout(timeout).map_err(|e| DeviceError::Io {
            what: format!("setting the read timeout of {}", self.name),
            source: io::Error::other(e.to_string()),
        })?;
        read_result(self.port.read(buf), &self.name)
    }
}
