//! Step 2: the kinds of caller an action admits (`callers = [...]`).

use super::{Refusal, Verdict};
use crate::principal::CallerSet;
use crate::{CallerKind, Code};

/// Admits `kind` if the action lists it.
pub(crate) fn check(admitted: CallerSet, kind: CallerKind) -> Verdict {
    if admitted.contains(kind) {
        Ok(())
    } else {
        Err(Refusal::code(Code::WrongCallerKind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_only_listed_kinds() {
        let users_and_agents = CallerSet::EMPTY.with(CallerKind::User).with(CallerKind::Agent);
        assert!(check(users_and_agents, CallerKind::User).is_ok());
        assert!(check(users_and_agents, CallerKind::Agent).is_ok());
        assert!(matches!(
            check(users_and_agents, CallerKind::Service),
            Err(Refusal::Denied(d)) if d.code == Code::WrongCallerKind
        ));
        assert!(check(CallerSet::EMPTY, CallerKind::User).is_err());
    }
}
