//! The password mode's heartbeats on the way out: the pong a peer's ping is owed, and our own
//! pings when the liveness check asks for one. When each may go is [`crate::secure`]'s rule.

use super::{Layer, LayerError, Secure};
use crate::secure::{self, Beat};

impl Layer {
    /// True when a ping may go out: password mode, both ends offered heartbeats, and neither
    /// end's CLOSE has passed.
    pub fn may_ping(&self) -> bool {
        matches!(&self.secure, Some(Secure::Open(channel)) if channel.may_ping())
    }

    /// Queues a ping behind everything queued, if one may go and there is room; returns how
    /// many bytes are queued with it (so where it ends), or `None` if it did not go.
    pub fn ping(&mut self) -> Result<Option<usize>, LayerError> {
        self.seal_heartbeat(Beat::Ping)
    }

    /// Queues the pong a peer's ping is owed, if it may go and there is room (else it stays
    /// owed, for the next call: a flood of pings owes one pong).
    pub(super) fn answer_ping(&mut self) -> Result<(), LayerError> {
        self.seal_heartbeat(Beat::Pong).map(drop)
    }

    fn seal_heartbeat(&mut self, beat: Beat) -> Result<Option<usize>, LayerError> {
        let Some(Secure::Open(channel)) = &mut self.secure else {
            return Ok(None);
        };
        if self.outbound.room() < secure::HEARTBEAT_LEN {
            return Ok(None);
        }
        let record = &mut self.outbound.spare()[..secure::HEARTBEAT_LEN];
        if !channel
            .seal_heartbeat(beat, record)
            .map_err(LayerError::Seal)?
        {
            return Ok(None);
        }
        self.outbound.commit(secure::HEARTBEAT_LEN);
        self.heartbeat_tail = match self.outbound.len() {
            secure::HEARTBEAT_LEN => secure::HEARTBEAT_LEN,
            _ => self.heartbeat_tail + secure::HEARTBEAT_LEN,
        };
        Ok(Some(self.outbound.len()))
    }

    /// True when what waits for the socket is heartbeats alone: writing it moves no data (so
    /// it is no activity for `-i` or the end rules).
    pub fn only_heartbeats_queued(&self) -> bool {
        !self.outbound.is_empty() && self.outbound.len() <= self.heartbeat_tail
    }
}
