//! Who may do what: one table, deny by default. `machine` adds the rules that depend on the
//! hearing (the presiding judge, the target of an action); `may_read_case` here is the rule for
//! a case's visibility, and `read_policy` decides every read of a hearing by role and presence.
use super::model::{Presence, Role, Visibility};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    CreateCase,
    ScheduleHearing,
    ListHearings,
    Invite,
    Open,
    Join,
    Leave,
    Admit,
    StandDown,
    Remove,
    /// Mute or unmute someone else.
    Mute,
    MuteSelf,
    UnmuteSelf,
    GoOnRecord,
    GoOffRecord,
    Adjourn,
    Cancel,
    AddNote,
    Watch,
    ReadHearing,
    VerifyLog,
    /// Connect one's own audio and video to the hearing (WebRTC).
    ConnectMedia,
    /// Enable or disable a staff account (outside any hearing).
    SetAccountEnabled,
    /// Lock or unlock the room against participants never admitted.
    LockRoom,
    /// Tell everyone in the waiting room something.
    MessageWaitingRoom,
    /// List the staff accounts (outside any hearing).
    ListStaff,
    /// See every participant's peer connection (the media node's view).
    ViewConnections,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateCase => "create_case",
            Action::ScheduleHearing => "schedule_hearing",
            Action::ListHearings => "list_hearings",
            Action::Invite => "invite_participant",
            Action::Open => "open_hearing",
            Action::Join => "join_hearing",
            Action::Leave => "leave_hearing",
            Action::Admit => "admit_participant",
            Action::StandDown => "stand_down_participant",
            Action::Remove => "remove_participant",
            Action::Mute => "mute_participant",
            Action::MuteSelf => "mute_self",
            Action::UnmuteSelf => "unmute_self",
            Action::GoOnRecord => "go_on_record",
            Action::GoOffRecord => "go_off_record",
            Action::Adjourn => "adjourn_hearing",
            Action::Cancel => "cancel_hearing",
            Action::AddNote => "add_note",
            Action::Watch => "watch_hearing",
            Action::ReadHearing => "get_hearing",
            Action::VerifyLog => "verify_hearing_log",
            Action::ConnectMedia => "connect_media",
            Action::SetAccountEnabled => "set_account_enabled",
            Action::LockRoom => "lock_hearing",
            Action::MessageWaitingRoom => "message_waiting_room",
            Action::ListStaff => "list_staff",
            Action::ViewConnections => "get_connections",
        }
    }

    /// Actions that conduct a hearing: a judge may take them only in a hearing they preside over.
    pub fn needs_presiding_judge(self) -> bool {
        !matches!(
            self,
            Action::CreateCase
                | Action::ScheduleHearing
                | Action::ListHearings
                | Action::Watch
                | Action::ReadHearing
                | Action::VerifyLog
                | Action::SetAccountEnabled
                | Action::ListStaff
        )
    }
}

/// The permission table. Anything not listed is denied.
pub fn role_may(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        CreateCase | ScheduleHearing | ListHearings | Invite | Open | Admit | StandDown
        | Remove | Mute | Cancel | AddNote | LockRoom | MessageWaitingRoom | ViewConnections => {
            matches!(role, Judge | Clerk)
        }
        // Only the presiding judge changes the record state.
        GoOnRecord | GoOffRecord | Adjourn => role == Judge,
        Join | Leave | MuteSelf | Watch | ReadHearing => !matches!(role, Admin | System),
        // An observer can never be unmuted.
        UnmuteSelf => !matches!(role, Admin | Observer | System),
        VerifyLog => matches!(role, Judge | Clerk | Admin),
        ConnectMedia => !matches!(role, Admin | System),
        SetAccountEnabled => role == Admin,
        ListStaff => matches!(role, Judge | Clerk | Admin),
    }
}

/// Whether a judge, clerk or admin (or a participant of one of the case's hearings) may read a
/// case. Admins administer accounts: they read public cases only, as anyone may. What each reads
/// of a case's hearings is `read_policy`'s.
pub fn may_read_case(role: Role, is_case_participant: bool, visibility: Visibility) -> bool {
    match visibility {
        Visibility::Public => true,
        Visibility::Restricted => role.is_court() || is_case_participant,
        Visibility::Sealed => matches!(role, Role::Judge | Role::Clerk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_denies_by_default_and_keeps_the_record_with_the_judge() {
        for role in Role::ALL.iter().copied() {
            assert_eq!(
                role_may(role, Action::GoOnRecord),
                role == Role::Judge,
                "{role}"
            );
            assert!(!role_may(Role::Observer, Action::UnmuteSelf));
            if !role.is_court() {
                assert!(!role_may(role, Action::Admit), "{role}");
                assert!(!role_may(role, Action::Mute), "{role}");
            }
        }
        assert!(!role_may(Role::Admin, Action::Join));
        assert!(role_may(Role::Admin, Action::VerifyLog));
        for role in Role::ALL.iter().copied() {
            assert_eq!(
                role_may(role, Action::SetAccountEnabled),
                role == Role::Admin,
                "{role}"
            );
        }
    }

    /// The names are stored in denial events and access logs: they never change.
    #[test]
    fn action_names_are_the_stored_ones() {
        assert_eq!(Action::Join.as_str(), "join_hearing");
        assert_eq!(Action::GoOnRecord.as_str(), "go_on_record");
        assert_eq!(Action::ConnectMedia.as_str(), "connect_media");
    }

    /// Reading and the case-level actions are open to any judge; conducting a hearing is the
    /// presiding judge's.
    #[test]
    fn only_conducting_a_hearing_needs_the_presiding_judge() {
        use Action::*;
        for a in [
            CreateCase,
            ScheduleHearing,
            ListHearings,
            Watch,
            ReadHearing,
            VerifyLog,
        ] {
            assert!(!a.needs_presiding_judge(), "{a:?}");
        }
        for a in [
            Open,
            Admit,
            Mute,
            GoOnRecord,
            Adjourn,
            AddNote,
            ConnectMedia,
        ] {
            assert!(a.needs_presiding_judge(), "{a:?}");
        }
    }

    #[test]
    fn visibility_rules() {
        assert!(may_read_case(Role::Observer, false, Visibility::Public));
        assert!(!may_read_case(
            Role::Observer,
            false,
            Visibility::Restricted
        ));
        assert!(may_read_case(Role::Counsel, true, Visibility::Restricted));
        assert!(!may_read_case(Role::Admin, false, Visibility::Restricted));
        assert!(may_read_case(Role::Admin, false, Visibility::Public));
        assert!(!may_read_case(Role::Admin, false, Visibility::Sealed));
        assert!(!may_read_case(Role::Counsel, true, Visibility::Sealed));
        assert!(may_read_case(Role::Clerk, false, Visibility::Sealed));
    }
}

/// Why someone may not connect their media to a hearing, or `None` when they may: the presiding
/// judge and clerks may; anyone else must have joined (be waiting or admitted). `presence` is
/// theirs in this hearing, if they are in it.
pub fn media_denial(
    role: Role,
    is_presiding_judge: bool,
    presence: Option<Presence>,
) -> Option<String> {
    match role {
        _ if !role_may(role, Action::ConnectMedia) => {
            Some(format!("a {role} may not connect to a hearing's media"))
        }
        Role::Judge if is_presiding_judge => None,
        Role::Judge => Some("only the presiding judge may connect to this hearing's media".into()),
        Role::Clerk => None,
        _ => match presence {
            Some(Presence::Waiting | Presence::Admitted) => None,
            _ => Some("join the hearing before connecting to its media".into()),
        },
    }
}

#[cfg(test)]
mod media_tests {
    use super::*;

    #[test]
    fn who_may_connect_media() {
        use Presence::*;
        let table = [
            (Role::Judge, true, None, true),
            (Role::Judge, false, Some(Admitted), false),
            (Role::Clerk, false, None, true),
            (Role::Admin, false, Some(Admitted), false),
            (Role::System, false, None, false),
            (Role::Witness, false, Some(Waiting), true),
            (Role::Counsel, false, Some(Admitted), true),
            (Role::Party, false, Some(Invited), false),
            (Role::Party, false, Some(Left), false),
            (Role::Party, false, Some(Removed), false),
            (Role::Observer, false, Some(Disconnected), false),
            (Role::Observer, false, None, false),
        ];
        for (role, presiding, presence, allowed) in table {
            assert_eq!(
                media_denial(role, presiding, presence).is_none(),
                allowed,
                "{role} presiding={presiding} {presence:?}"
            );
        }
    }
}
