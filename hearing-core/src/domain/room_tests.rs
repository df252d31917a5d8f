//! The court's hold on the room: locking it against people it never admitted (those it did may
//! come back), and its messages to the waiting room. Table-driven; the proptest in
//! `machine_tests` runs the same commands against the reference model.
use chrono::Utc;

use super::machine::{apply, Command, Rejection};
use super::machine_tests::{actor_of, clerk_actor, hearing, judge_actor};
use super::*;

fn lock(locked: bool) -> Command {
    Command::Lock {
        locked,
        reason: None,
    }
}

fn join() -> Command {
    Command::Join {
        staff_participant_id: ParticipantId::new(),
    }
}

/// An open hearing with a witness invited (index 1) and counsel invited (index 2).
fn open_with_two_invited() -> Hearing {
    let mut h = hearing();
    h.state = HearingState::Open;
    for role in [Role::Witness, Role::Counsel] {
        let out = apply(
            &h,
            &clerk_actor(),
            Command::Invite {
                participant_id: ParticipantId::new(),
                display_name: DisplayName::parse("d", &format!("{role} one")).unwrap(),
                role,
            },
            Utc::now(),
        )
        .unwrap();
        h = out.hearing;
    }
    h
}

#[test]
fn the_presiding_judge_and_clerks_lock_in_any_state_but_a_final_one() {
    for state in HearingState::ALL.iter().copied() {
        let mut h = hearing();
        h.state = state;
        for actor in [judge_actor(&h), clerk_actor()] {
            let got = apply(&h, &actor, lock(true), Utc::now());
            if state.is_final() {
                assert_eq!(
                    got.unwrap_err(),
                    Rejection::Precondition(format!("hearing is {state}: cannot lock the room")),
                );
            } else {
                let out = got.unwrap();
                assert!(out.hearing.locked, "{state}");
                assert_eq!(
                    out.events,
                    vec![EventPayload::RoomLocked {
                        locked: true,
                        reason: None
                    }]
                );
            }
        }
    }
}

#[test]
fn locking_a_locked_room_or_unlocking_an_open_one_names_the_state() {
    let mut h = hearing();
    let j = judge_actor(&h);
    assert_eq!(
        apply(&h, &j, lock(false), Utc::now()).unwrap_err(),
        Rejection::Precondition("the room is unlocked already".into())
    );
    h.locked = true;
    assert_eq!(
        apply(&h, &j, lock(true), Utc::now()).unwrap_err(),
        Rejection::Precondition("the room is locked already".into())
    );
    let out = apply(&h, &j, lock(false), Utc::now()).unwrap();
    assert!(!out.hearing.locked);
}

#[test]
fn only_the_court_locks_and_a_judge_only_where_they_preside() {
    let h = open_with_two_invited();
    let witness = actor_of(&h.participants[1]);
    let other_judge = Actor {
        participant_id: None,
        user_id: Some(UserId::new()),
        role: Role::Judge,
        display_name: "Judge Zhao".into(),
    };
    for actor in [witness, other_judge] {
        let err = apply(&h, &actor, lock(true), Utc::now()).unwrap_err();
        assert!(
            matches!(
                err,
                Rejection::Denied {
                    action: Action::LockRoom,
                    ..
                }
            ),
            "{actor:?}: {err:?}"
        );
    }
}

/// While locked, someone never admitted is kept out; someone admitted before (who dropped or
/// left) comes back to the waiting room; the court comes in as always.
#[test]
fn a_locked_room_keeps_out_only_those_never_admitted() {
    let h = open_with_two_invited();
    let (witness, counsel) = (h.participants[1].clone(), h.participants[2].clone());
    let now = Utc::now();
    // Counsel joins, is admitted, then drops.
    let h = apply(&h, &actor_of(&counsel), join(), now).unwrap().hearing;
    let h = apply(
        &h,
        &clerk_actor(),
        Command::Admit { target: counsel.id },
        now,
    )
    .unwrap()
    .hearing;
    let h = apply(
        &h,
        &actor_of(&counsel),
        Command::Leave {
            reason: None,
            disconnected: true,
        },
        now,
    )
    .unwrap()
    .hearing;
    assert!(h.participant(counsel.id).unwrap().admitted_before);
    assert!(!h.participant(witness.id).unwrap().admitted_before);
    let locked = apply(&h, &judge_actor(&h), lock(true), now)
        .unwrap()
        .hearing;

    assert_eq!(
        apply(&locked, &actor_of(&witness), join(), now).unwrap_err(),
        Rejection::Precondition(
            "the court has locked the room: only participants admitted before may join".into()
        )
    );
    let back = apply(&locked, &actor_of(&counsel), join(), now).unwrap();
    assert_eq!(
        back.hearing.participant(counsel.id).unwrap().presence,
        Presence::Waiting
    );
    let clerk = apply(&locked, &clerk_actor(), join(), now).unwrap();
    assert_eq!(clerk.events.len(), 1, "the clerk joins a locked room");
    let judge = apply(&locked, &judge_actor(&locked), join(), now).unwrap();
    assert_eq!(
        judge.hearing.participants[0].presence,
        Presence::Admitted,
        "the judge joins a locked room"
    );

    // Unlocked again, the witness joins.
    let open = apply(&locked, &clerk_actor(), lock(false), now)
        .unwrap()
        .hearing;
    let w = apply(&open, &actor_of(&witness), join(), now).unwrap();
    assert_eq!(
        w.hearing.participant(witness.id).unwrap().presence,
        Presence::Waiting
    );
}

#[test]
fn the_court_messages_the_waiting_room_until_the_hearing_is_over() {
    let text = WaitingRoomText::parse("text", "  we start at 10:15  ").unwrap();
    assert_eq!(text.as_str(), "we start at 10:15");
    let msg = || Command::MessageWaitingRoom { text: text.clone() };
    let mut h = open_with_two_invited();
    for actor in [judge_actor(&h), clerk_actor()] {
        let out = apply(&h, &actor, msg(), Utc::now()).unwrap();
        assert_eq!(
            out.events,
            vec![EventPayload::WaitingRoomMessage {
                text: "we start at 10:15".into()
            }]
        );
        assert_eq!(out.hearing, h, "a message changes nothing else");
    }
    let witness = actor_of(&h.participants[1]);
    assert!(matches!(
        apply(&h, &witness, msg(), Utc::now()).unwrap_err(),
        Rejection::Denied {
            action: Action::MessageWaitingRoom,
            ..
        }
    ));
    h.state = HearingState::Adjourned;
    assert_eq!(
        apply(&h, &judge_actor(&h), msg(), Utc::now()).unwrap_err(),
        Rejection::Precondition("hearing is adjourned: cannot message the waiting room".into())
    );
    assert!(WaitingRoomText::parse("text", "   ").is_err());
    assert!(WaitingRoomText::parse("text", &"x".repeat(500)).is_ok());
    assert!(WaitingRoomText::parse("text", &"x".repeat(501)).is_err());
}
