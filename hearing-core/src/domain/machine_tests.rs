//! The state machine, table-driven and under random sequences of commands (proptest) checked
//! against the reference model in `machine_model`: every answer is the model's (the same new
//! hearing and events, or the same refusal), a refusal changes nothing, a realistic share of
//! commands is accepted, and the log of the events the machine produced verifies while any
//! edit, deletion or reordering of it does not.
use std::cell::Cell;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};

use super::events::{verify_chain, Actor, StoredEvent, GENESIS_HASH};
use super::machine::{apply, transition_allowed, Command, Rejection};
use super::machine_model::{predict, Refusal};
use super::*;

pub(super) fn judge_actor(h: &Hearing) -> Actor {
    Actor {
        participant_id: Some(h.presiding_participant),
        user_id: Some(h.presiding_judge),
        role: Role::Judge,
        display_name: "Judge Wang".into(),
    }
}

pub(super) fn clerk_actor() -> Actor {
    Actor {
        participant_id: None,
        user_id: Some(UserId::new()),
        role: Role::Clerk,
        display_name: "Clerk Li".into(),
    }
}

pub(super) fn hearing() -> Hearing {
    let judge = UserId::new();
    let jp = ParticipantId::new();
    Hearing {
        id: HearingId::new(),
        case_id: CaseId::new(),
        title: Title::parse("t", "Hearing").unwrap(),
        starts_at: Utc::now(),
        ends_at: Utc::now(),
        state: HearingState::Scheduled,
        presiding_judge: judge,
        presiding_participant: jp,
        opened_at: None,
        locked: false,
        participants: vec![Participant {
            id: jp,
            display_name: DisplayName::parse("d", "Judge Wang").unwrap(),
            role: Role::Judge,
            presence: Presence::Invited,
            muted: false,
            court_muted: false,
            user_id: Some(judge),
            admitted_before: false,
        }],
        labels: HearingLabels::default(),
    }
}

pub(super) fn actor_of(p: &Participant) -> Actor {
    Actor {
        participant_id: Some(p.id),
        user_id: p.user_id,
        role: p.role,
        display_name: p.display_name.to_string(),
    }
}

#[test]
fn only_the_designed_transitions_exist() {
    use HearingState::*;
    let legal = [
        (Scheduled, Open),
        (Open, OnRecord),
        (OnRecord, OffRecord),
        (OffRecord, OnRecord),
        (Open, Adjourned),
        (OnRecord, Adjourned),
        (OffRecord, Adjourned),
        (Scheduled, Cancelled),
        (Open, Cancelled),
    ];
    for from in HearingState::ALL.iter().copied() {
        for to in HearingState::ALL.iter().copied() {
            assert_eq!(
                transition_allowed(from, to),
                legal.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
}

#[test]
fn rejections_change_nothing_and_name_the_state() {
    let h = hearing();
    let j = judge_actor(&h);
    let err = apply(&h, &j, Command::GoOnRecord, Utc::now()).unwrap_err();
    assert_eq!(
        err,
        Rejection::Precondition("hearing is scheduled: cannot move to on_record".into())
    );
    let clerk = clerk_actor();
    let err = apply(&h, &clerk, Command::Adjourn { reason: None }, Utc::now()).unwrap_err();
    assert!(matches!(err, Rejection::Denied { .. }), "{err:?}");
}

/// Only clerks become participants by joining; anyone else without a participant is refused.
#[test]
fn joining_without_a_participant_is_for_clerks_only() {
    let mut h = hearing();
    h.state = HearingState::Open;
    let stranger = Actor {
        participant_id: None,
        user_id: None,
        role: Role::Counsel,
        display_name: "Counsel Chen".into(),
    };
    let join = || Command::Join {
        staff_participant_id: ParticipantId::new(),
    };
    let err = apply(&h, &stranger, join(), Utc::now()).unwrap_err();
    assert_eq!(
        err,
        Rejection::Denied {
            action: Action::Join,
            reason: "only the presiding judge, clerks and invited participants may join".into(),
            target: None,
        }
    );
    let clerk = clerk_actor();
    let out = apply(&h, &clerk, join(), Utc::now()).unwrap();
    let joined = out
        .hearing
        .participant_of_user(clerk.user_id.unwrap())
        .unwrap();
    assert_eq!(
        (joined.role, joined.presence),
        (Role::Clerk, Presence::Admitted)
    );
}

#[test]
fn staff_participants_get_no_invitation_code() {
    // A code for the judge's own participant would be a session outside their account, which
    // disabling the account would not end.
    let h = hearing();
    let clerk = clerk_actor();
    let target = h.presiding_participant;
    let err = apply(&h, &clerk, Command::ReissueInvite { target }, Utc::now()).unwrap_err();
    assert_eq!(
        err,
        Rejection::Precondition(
            "judges and clerks take part with their own accounts and have no invitation".into()
        )
    );
    // An invited party's code is still reissued.
    let party = ParticipantId::new();
    let invited = apply(
        &h,
        &clerk,
        Command::Invite {
            participant_id: party,
            display_name: DisplayName::parse("d", "Witness Zhao").unwrap(),
            role: Role::Witness,
        },
        Utc::now(),
    )
    .unwrap()
    .hearing;
    apply(
        &invited,
        &clerk,
        Command::ReissueInvite { target: party },
        Utc::now(),
    )
    .unwrap();
}

#[test]
fn participants_are_found_by_user_and_the_clock_starts_at_opening() {
    let mut h = hearing();
    let judge = h.participants[0].clone();
    assert_eq!(h.participant_of_user(h.presiding_judge), Some(&judge));
    assert_eq!(h.participant_of_user(UserId::new()), None);
    let t0: chrono::DateTime<Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
    assert_eq!(h.clock_ms(t0), 0, "not opened yet");
    h.opened_at = Some(t0);
    assert_eq!(
        h.clock_ms(t0 + chrono::Duration::milliseconds(1_500)),
        1_500
    );
    assert_eq!(h.clock_ms(t0 - chrono::Duration::seconds(1)), 0);
}

/// Who gives a command: the presiding judge, a judge who does not preside, a clerk (who has a
/// participant once joined), or an invited participant (by index, wrapping).
#[derive(Clone, Debug)]
enum Who {
    Judge,
    OtherJudge,
    Clerk,
    Person(usize),
}

/// A command, with participants named by index into the hearing's list (wrapping).
#[derive(Clone, Debug)]
enum Act {
    Invite(usize),
    Redeem,
    Open,
    Join,
    Leave(bool),
    Admit(usize),
    StandDown(usize),
    Remove(usize),
    Mute(usize, bool),
    /// Mute oneself (or unmute).
    MuteSelf(bool),
    OnRecord,
    OffRecord,
    Adjourn,
    Cancel,
    Note,
    /// Admit someone who is not in the hearing.
    Ghost,
    /// Lock (or unlock) the room.
    Lock(bool),
    MessageWaitingRoom,
}

/// Biased towards commands that can succeed (the court runs the hearing, people join and mute
/// themselves; ending the hearing is rare), so that sequences get deep into a hearing.
fn step() -> impl Strategy<Value = (Who, Act)> {
    let court = prop_oneof![
        6 => Just(Who::Judge),
        3 => Just(Who::Clerk),
        1 => Just(Who::OtherJudge),
    ];
    let court_act = prop_oneof![
        12 => (0..ROLES.len()).prop_map(Act::Invite),
        8 => Just(Act::Open),
        6 => Just(Act::Join),
        15 => (0..8usize).prop_map(Act::Admit),
        3 => (0..8usize).prop_map(Act::StandDown),
        3 => (0..8usize).prop_map(Act::Remove),
        6 => (0..8usize, any::<bool>()).prop_map(|(t, m)| Act::Mute(t, m)),
        6 => Just(Act::OnRecord),
        3 => Just(Act::OffRecord),
        1 => Just(Act::Adjourn),
        1 => Just(Act::Cancel),
        3 => Just(Act::Note),
        2 => Just(Act::Ghost),
        1 => any::<bool>().prop_map(Act::Lock),
        1 => Just(Act::MessageWaitingRoom),
    ];
    let person_act = prop_oneof![
        6 => Just(Act::Join),
        1 => any::<bool>().prop_map(Act::Leave),
        3 => any::<bool>().prop_map(Act::MuteSelf),
        1 => (0..8usize, any::<bool>()).prop_map(|(t, m)| Act::Mute(t, m)),
        1 => Just(Act::Redeem),
        1 => (0..8usize).prop_map(Act::Admit),
        1 => any::<bool>().prop_map(Act::Lock),
    ];
    prop_oneof![
        3 => (court, court_act),
        2 => ((0..8usize).prop_map(Who::Person), person_act),
    ]
}

/// The people of one generated run: the hearing and the staff outside it.
struct Cast {
    other_judge: UserId,
    clerk: UserId,
}

impl Cast {
    fn actor(&self, h: &Hearing, who: &Who) -> Actor {
        match who {
            Who::Judge => judge_actor(h),
            Who::OtherJudge => Actor {
                participant_id: None,
                user_id: Some(self.other_judge),
                role: Role::Judge,
                display_name: "Judge Zhao".into(),
            },
            Who::Clerk => Actor {
                participant_id: h.participant_of_user(self.clerk).map(|p| p.id),
                user_id: Some(self.clerk),
                role: Role::Clerk,
                display_name: "Clerk Li".into(),
            },
            Who::Person(i) => actor_of(&h.participants[i % h.participants.len()]),
        }
    }

    fn command(&self, h: &Hearing, actor: &Actor, act: &Act) -> Command {
        let pick = |i: &usize| h.participants[i % h.participants.len()].id;
        let reason = |r: &str| Reason::parse("reason", r).unwrap();
        match act {
            Act::Invite(r) => Command::Invite {
                participant_id: ParticipantId::new(),
                display_name: DisplayName::parse("d", "Someone").unwrap(),
                role: ROLES[*r],
            },
            Act::Redeem => Command::RedeemInvite,
            Act::Open => Command::Open,
            Act::Join => Command::Join {
                staff_participant_id: ParticipantId::new(),
            },
            Act::Leave(d) => Command::Leave {
                reason: d.then(|| reason("network")),
                disconnected: *d,
            },
            Act::Admit(i) => Command::Admit { target: pick(i) },
            Act::StandDown(i) => Command::StandDown {
                target: pick(i),
                reason: Some(reason("step down")),
            },
            Act::Remove(i) => Command::Remove {
                target: pick(i),
                reason: reason("because"),
            },
            Act::Mute(i, m) => Command::Mute {
                target: pick(i),
                muted: *m,
            },
            Act::MuteSelf(m) => Command::Mute {
                target: actor
                    .participant_id
                    .expect("only participants mute themselves"),
                muted: *m,
            },
            Act::OnRecord => Command::GoOnRecord,
            Act::OffRecord => Command::GoOffRecord {
                reason: reason("recess"),
            },
            Act::Adjourn => Command::Adjourn {
                reason: Some(reason("done")),
            },
            Act::Cancel => Command::Cancel {
                reason: reason("settled"),
            },
            Act::Note => Command::AddNote {
                text: NoteText::parse("t", "note").unwrap(),
            },
            Act::Ghost => Command::Admit {
                target: ParticipantId::new(),
            },
            Act::Lock(l) => Command::Lock {
                locked: *l,
                reason: l.then(|| reason("full")),
            },
            Act::MessageWaitingRoom => Command::MessageWaitingRoom {
                text: WaitingRoomText::parse("text", "we start at 10:15").unwrap(),
            },
        }
    }
}

const ROLES: [Role; 7] = [
    Role::Prosecutor,
    Role::Counsel,
    Role::Party,
    Role::Witness,
    Role::Expert,
    Role::Interpreter,
    Role::Observer,
];

/// The machine's refusal in the model's terms.
fn refusal(r: &Rejection) -> Refusal {
    match r {
        Rejection::Denied { action, target, .. } => Refusal::Denied {
            action: *action,
            target: *target,
        },
        Rejection::Precondition(_) => Refusal::Precondition,
        Rejection::NotFound(_) => Refusal::NotFound,
    }
}

/// How a test copy of the log is tampered with.
#[derive(Clone, Debug)]
enum Tamper {
    Edit(Index),
    Delete(Index),
    Swap(Index, Index),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        any::<Index>().prop_map(Tamper::Edit),
        any::<Index>().prop_map(Tamper::Delete),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Tamper::Swap(a, b)),
    ]
}

/// Runs `steps` through the machine and the model side by side; returns how many commands
/// were accepted and the log of the machine's events.
fn run(
    steps: &[(Who, Act)],
    accepted: &mut u64,
) -> Result<(Vec<StoredEvent>, String), TestCaseError> {
    let cast = Cast {
        other_judge: UserId::new(),
        clerk: UserId::new(),
    };
    let mut h = hearing();
    let mut log: Vec<StoredEvent> = Vec::new();
    let mut prev = GENESIS_HASH.to_string();
    let t0: DateTime<Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
    for (i, (who, act)) in steps.iter().enumerate() {
        let now = t0 + Duration::seconds(i as i64);
        let actor = cast.actor(&h, who);
        let cmd = cast.command(&h, &actor, act);
        // `apply` borrows the hearing, so a refusal cannot change it; what a refusal must not
        // do is predict a change the model does not (checked below).
        let before = h.clone();
        let expected = predict(&h, &actor, &cmd, now);
        let got = apply(&h, &actor, cmd.clone(), now);
        match (got, expected) {
            (Ok(out), Ok((want, want_events))) => {
                prop_assert_eq!(&out.hearing, &want, "{:?} by {:?}", cmd, actor);
                prop_assert_eq!(&out.events, &want_events, "{:?} by {:?}", cmd, actor);
                if out.hearing.state != before.state {
                    prop_assert!(transition_allowed(before.state, out.hearing.state));
                }
                for e in &out.events {
                    let stored = StoredEvent::seal(
                        h.id,
                        log.len() as u64 + 1,
                        out.hearing.clock_ms(now),
                        now,
                        &actor,
                        e,
                        &prev,
                    );
                    prev = stored.hash.clone();
                    log.push(stored);
                }
                h = out.hearing;
                *accepted += 1;
            }
            (Err(r), Err(want)) => {
                prop_assert_eq!(refusal(&r), want, "{:?} by {:?}: {:?}", cmd, actor, r)
            }
            (got, want) => prop_assert!(
                false,
                "{:?} by {:?} in a {} hearing: the machine answered {:?}, the model {:?}",
                cmd,
                actor,
                before.state,
                got.map(|o| o.events),
                want.map(|(_, e)| e)
            ),
        }
        // Presence stays consistent.
        for p in &h.participants {
            if p.role == Role::Observer {
                prop_assert!(p.muted && p.court_muted, "an observer was unmuted");
            }
            if p.id == h.presiding_participant {
                prop_assert_ne!(p.presence, Presence::Removed);
                prop_assert_ne!(p.presence, Presence::Waiting);
            }
        }
        prop_assert_eq!(
            h.participants
                .iter()
                .filter(|p| p.id == h.presiding_participant)
                .count(),
            1
        );
    }
    Ok((log, prev))
}

/// Checks the log the machine's events make, and that `how` tampering with it is caught at the
/// event it touched.
fn check_log(log: &[StoredEvent], head: &str, how: &Tamper) -> Result<(), TestCaseError> {
    let n = log.len() as u64;
    let v = verify_chain(log, n, head);
    prop_assert!(v.ok, "{:?}", v);
    prop_assert_eq!(v.events_checked, n);
    if log.is_empty() {
        return Ok(());
    }
    let mut bad = log.to_vec();
    let first_bad = match how {
        Tamper::Edit(i) => {
            let i = i.index(log.len());
            bad[i].payload.push(' ');
            i
        }
        Tamper::Delete(i) => {
            let i = i.index(log.len());
            bad.remove(i);
            i
        }
        Tamper::Swap(a, b) => {
            let (a, b) = (a.index(log.len()), b.index(log.len()));
            if a == b || log.len() < 2 {
                return Ok(());
            }
            bad.swap(a, b);
            a.min(b)
        }
    };
    let v = verify_chain(&bad, n, head);
    prop_assert!(!v.ok, "{:?} of the log went unnoticed", how);
    prop_assert_eq!(
        v.first_bad_seq,
        Some(first_bad as u64 + 1),
        "{:?}: {:?}",
        how,
        v
    );
    Ok(())
}

/// The share of generated commands the machine accepts over all cases: 0.421, 0.425 and 0.436
/// in three runs when this bound was set (256 cases of 1-59 commands, seeds varying; the
/// accepted count is printed). 0.30 leaves room for the generator's randomness, while a
/// machine that refuses what it should accept fails here even if its refusals match nothing.
const MIN_ACCEPTED_SHARE: f64 = 0.30;

#[test]
fn random_sequences_follow_the_reference_model() {
    let accepted = Cell::new(0u64);
    let total = Cell::new(0u64);
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let steps = proptest::collection::vec(step(), 1..60);
    let result = runner.run(&(steps, tamper()), |(steps, how)| {
        let mut ok = 0;
        let (log, head) = run(&steps, &mut ok)?;
        check_log(&log, &head, &how)?;
        accepted.set(accepted.get() + ok);
        total.set(total.get() + steps.len() as u64);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let share = accepted.get() as f64 / total.get() as f64;
    println!(
        "accepted {} of {} commands ({share:.3})",
        accepted.get(),
        total.get()
    );
    assert!(
        share >= MIN_ACCEPTED_SHARE,
        "only {share:.3} of the commands were accepted"
    );
}
