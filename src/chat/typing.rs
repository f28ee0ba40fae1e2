//! What each key does in the chat: the line edited, sent or refused, the screen cleared, the
//! chat left or stopped.

use super::editor::MAX_LINE;
use super::keys::Key;
use super::{Action, CLEAR_SCREEN, Chat};

impl Chat {
    /// Acts on one key: the line edited, sent or refused; or what the caller is to do.
    pub(super) fn key(&mut self, key: Key, to_peer: &mut Vec<u8>, screen: &mut Vec<u8>) -> Action {
        match key {
            Key::Interrupt => return Action::Leave,
            Key::Suspend => return Action::Suspend,
            Key::Redraw => {
                screen.extend(CLEAR_SCREEN);
                self.on_screen = None;
                self.widest_drawn = 0;
            }
            _ if self.input_ended => {}
            Key::Char(_) if self.overlong => {}
            Key::Char(c) => {
                if !self.editor.insert(c) {
                    self.editor.discard();
                    self.overlong = true;
                    let limit = MAX_LINE / 1024;
                    self.say(
                        &format!("not sent: the line is longer than {limit} KiB"),
                        screen,
                    );
                }
            }
            Key::Enter => self.send(Some(b'\n'), to_peer, screen),
            // Alone, there is no side to end: the next partner would find the chat over at once.
            Key::EndOfInput if !self.channel_open && self.editor.line().is_empty() => {
                self.say("nothing ended: nobody is here yet (Ctrl-C leaves)", screen);
            }
            Key::EndOfInput if self.editor.line().is_empty() && !self.overlong => {
                self.input_ended = true;
                return Action::EndInput;
            }
            // As a terminal's line discipline does: what is typed goes, without a newline.
            Key::EndOfInput => self.send(None, to_peer, screen),
            key => {
                self.overlong = false;
                self.edit(key);
            }
        }
        Action::Continue
    }

    fn edit(&mut self, key: Key) {
        match key {
            Key::Backspace => self.editor.backspace(),
            Key::Delete => self.editor.delete(),
            Key::Left => self.editor.left(),
            Key::Right => self.editor.right(),
            Key::Home => self.editor.home(),
            Key::End => self.editor.end(),
            Key::Up => self.editor.older(),
            Key::Down => self.editor.newer(),
            Key::KillToStart => self.editor.kill_to_start(),
            Key::KillWord => self.editor.kill_word(),
            _ => {}
        }
    }
}
