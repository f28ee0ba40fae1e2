//! Chat mode's parts: keys, the line editor, the peer's text made safe, and their layout.

// Wired into the relay in the next commit.
#![allow(dead_code)]

mod editor;
mod input_view;
mod keys;
mod peer_row;
mod sanitize;
mod utf8;
