//! The state machine, table-driven and under random sequences of commands (proptest): only
//! legal transitions happen, presence stays consistent, and the resulting log verifies.
use chrono::Utc;
use proptest::prelude::*;

use super::events::{verify_chain, Actor, StoredEvent, GENESIS_HASH};
use super::machine::{apply, transition_allowed, Command, Rejection};
use super::*;

fn judge_actor(h: &Hearing) -> Actor {
    Actor {
        participant_id: Some(h.presiding_participant),
        user_id: Some(h.presiding_judge),
        role: Role::Judge,
        display_name: "Judge Wang".into(),
    }
}

fn clerk_actor() -> Actor {
    Actor {
        participant_id: None,
        user_id: Some(UserId::new()),
        role: Role::Clerk,
        display_name: "Clerk Li".into(),
    }
}

fn hearing() -> Hearing {
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
        participants: vec![Participant {
            id: jp,
            display_name: DisplayName::parse("d", "Judge Wang").unwrap(),
            role: Role::Judge,
            presence: Presence::Invited,
            muted: false,
            court_muted: false,
            user_id: Some(judge),
        }],
    }
}

fn actor_of(p: &Participant) -> Actor {
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

#[derive(Clone, Debug)]
enum Step {
    Invite(usize),
    Open,
    Join(usize),
    Leave(usize, bool),
    Admit(usize),
    StandDown(usize),
    Remove(usize),
    Mute(usize, usize, bool),
    OnRecord,
    OffRecord,
    Adjourn,
    Cancel,
    Note,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..7usize).prop_map(Step::Invite),
        Just(Step::Open),
        (0..8usize).prop_map(Step::Join),
        (0..8usize, any::<bool>()).prop_map(|(i, d)| Step::Leave(i, d)),
        (0..8usize).prop_map(Step::Admit),
        (0..8usize).prop_map(Step::StandDown),
        (0..8usize).prop_map(Step::Remove),
        (0..8usize, 0..8usize, any::<bool>()).prop_map(|(a, t, m)| Step::Mute(a, t, m)),
        Just(Step::OnRecord),
        Just(Step::OffRecord),
        Just(Step::Adjourn),
        Just(Step::Cancel),
        Just(Step::Note),
    ]
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_sequences_keep_the_invariants(steps in proptest::collection::vec(step(), 1..60)) {
        let mut h = hearing();
        let judge = judge_actor(&h);
        let mut log: Vec<StoredEvent> = Vec::new();
        let mut prev = GENESIS_HASH.to_string();
        for s in steps {
            let pick = |h: &Hearing, i: usize| h.participants[i % h.participants.len()].clone();
            let (actor, cmd) = match s {
                Step::Invite(r) => (judge.clone(), Command::Invite {
                    participant_id: ParticipantId::new(),
                    display_name: DisplayName::parse("d", "Someone").unwrap(),
                    role: ROLES[r],
                }),
                Step::Open => (judge.clone(), Command::Open),
                Step::Join(i) => (actor_of(&pick(&h, i)), Command::Join { staff_participant_id: ParticipantId::new() }),
                Step::Leave(i, d) => (actor_of(&pick(&h, i)), Command::Leave { reason: None, disconnected: d }),
                Step::Admit(i) => (judge.clone(), Command::Admit { target: pick(&h, i).id }),
                Step::StandDown(i) => (judge.clone(), Command::StandDown { target: pick(&h, i).id, reason: None }),
                Step::Remove(i) => (judge.clone(), Command::Remove { target: pick(&h, i).id, reason: Reason::parse("r", "because").unwrap() }),
                Step::Mute(a, t, m) => (actor_of(&pick(&h, a)), Command::Mute { target: pick(&h, t).id, muted: m }),
                Step::OnRecord => (judge.clone(), Command::GoOnRecord),
                Step::OffRecord => (judge.clone(), Command::GoOffRecord { reason: Reason::parse("r", "recess").unwrap() }),
                Step::Adjourn => (judge.clone(), Command::Adjourn { reason: None }),
                Step::Cancel => (judge.clone(), Command::Cancel { reason: Reason::parse("r", "settled").unwrap() }),
                Step::Note => (judge.clone(), Command::AddNote { text: NoteText::parse("t", "note").unwrap() }),
            };
            let before = h.clone();
            match apply(&h, &actor, cmd, Utc::now()) {
                Ok(out) => {
                    // Only legal transitions.
                    if out.hearing.state != before.state {
                        prop_assert!(transition_allowed(before.state, out.hearing.state));
                    }
                    for e in &out.events {
                        let seq = log.len() as u64 + 1;
                        let stored = StoredEvent::seal(h.id, seq, h.clock_ms(Utc::now()), Utc::now(), &actor, e, &prev);
                        prev = stored.hash.clone();
                        log.push(stored);
                    }
                    h = out.hearing;
                }
                Err(_) => prop_assert_eq!(&h, &before),
            }
            // Presence stays consistent.
            for p in &h.participants {
                if p.role == Role::Observer {
                    prop_assert!(p.muted, "an observer was unmuted");
                }
                if matches!(p.presence, Presence::Waiting | Presence::Admitted) {
                    prop_assert!(h.state.is_live() || h.state.is_final(), "present in a {} hearing", h.state);
                }
                if p.id == h.presiding_participant {
                    prop_assert_ne!(p.presence, Presence::Removed);
                    prop_assert_ne!(p.presence, Presence::Waiting);
                }
            }
            prop_assert!(h.participants.iter().filter(|p| p.id == h.presiding_participant).count() == 1);
        }
        let v = verify_chain(&log, log.len() as u64, &prev);
        prop_assert!(v.ok, "{:?}", v);
    }
}
