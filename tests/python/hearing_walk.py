#!/usr/bin/env python3
"""The hearing walk from another language: a Python grpcio client generated from proto/ alone.

Usage: hearing_walk.py HOST:PORT JUDGE_USERNAME CLERK_USERNAME PASSWORD
Runs schedule, invite, redeem, open, join, admit, on record, off record (with a reason), on record,
adjourn, verify; and checks the status codes for unauthenticated, forbidden, illegal-state and
malformed calls. Exits non-zero on the first failure.
"""
import datetime
import sys
import uuid

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from court.v1 import auth_pb2, auth_pb2_grpc, case_pb2, case_pb2_grpc, common_pb2
from court.v1 import hearing_pb2, hearing_pb2_grpc

addr, judge_name, clerk_name, password = sys.argv[1:5]
channel = grpc.insecure_channel(addr)
auth = auth_pb2_grpc.AuthServiceStub(channel)
cases = case_pb2_grpc.CaseServiceStub(channel)
hearings = hearing_pb2_grpc.HearingServiceStub(channel)
checks = 0
# How long the replay of a finished hearing's log may take (it takes milliseconds).
WATCH_PATIENCE_SECS = 30


def md(token):
    return [("authorization", f"Bearer {token}")]


def expect_code(code, fn, *args, **kwargs):
    global checks
    try:
        fn(*args, **kwargs)
    except grpc.RpcError as e:
        assert e.code() == code, f"expected {code}, got {e.code()}: {e.details()}"
        checks += 1
        return e.details()
    raise AssertionError(f"expected {code}, the call succeeded")


def ts(hours):
    t = Timestamp()
    t.FromDatetime(datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(hours=hours))
    return t


judge = auth.Login(auth_pb2.LoginRequest(username=judge_name, password=password)).token
clerk = auth.Login(auth_pb2.LoginRequest(username=clerk_name, password=password)).token

case = cases.CreateCase(
    case_pb2.CreateCaseRequest(case_number=f"PY-{uuid.uuid4().hex[:8]}", title="Li v. Wu",
                               visibility=common_pb2.VISIBILITY_RESTRICTED), metadata=md(judge))
hearing = hearings.ScheduleHearing(
    hearing_pb2.ScheduleHearingRequest(case_id=case.id, title="Trial, day 1", starts_at=ts(1), ends_at=ts(2)),
    metadata=md(judge))
hid = hearing.id
inv = {}
for name, role in [("Counsel Chen", common_pb2.ROLE_COUNSEL), ("Ms. Liu", common_pb2.ROLE_WITNESS)]:
    r = hearings.InviteParticipant(hearing_pb2.InviteParticipantRequest(hearing_id=hid, display_name=name, role=role),
                                   metadata=md(clerk))
    red = auth.RedeemInvite(auth_pb2.RedeemInviteRequest(code=r.code))
    assert red.participant.id == r.participant.id
    inv[role] = red

counsel, witness = inv[common_pb2.ROLE_COUNSEL], inv[common_pb2.ROLE_WITNESS]

# Unauthenticated, malformed, illegal state, forbidden.
expect_code(grpc.StatusCode.UNAUTHENTICATED, hearings.GetHearing, hearing_pb2.GetHearingRequest(hearing_id=hid))
details = expect_code(grpc.StatusCode.INVALID_ARGUMENT, hearings.GetHearing,
                      hearing_pb2.GetHearingRequest(hearing_id="not-an-id"), metadata=md(clerk))
assert "hearing_id" in details, details
expect_code(grpc.StatusCode.FAILED_PRECONDITION, hearings.GoOnRecord,
            hearing_pb2.GoOnRecordRequest(hearing_id=hid), metadata=md(judge))
expect_code(grpc.StatusCode.PERMISSION_DENIED, hearings.OpenHearing,
            hearing_pb2.OpenHearingRequest(hearing_id=hid), metadata=md(counsel.token))

h = hearings.OpenHearing(hearing_pb2.OpenHearingRequest(hearing_id=hid), metadata=md(judge))
assert h.state == common_pb2.HEARING_STATE_OPEN
me = hearings.JoinHearing(hearing_pb2.JoinHearingRequest(hearing_id=hid), metadata=md(judge))
assert me.presence == common_pb2.PRESENCE_ADMITTED
for p in (counsel, witness):
    joined = hearings.JoinHearing(hearing_pb2.JoinHearingRequest(hearing_id=hid), metadata=md(p.token))
    assert joined.presence == common_pb2.PRESENCE_WAITING
    admitted = hearings.AdmitParticipant(
        hearing_pb2.AdmitParticipantRequest(hearing_id=hid, participant_id=p.participant.id), metadata=md(clerk))
    assert admitted.presence == common_pb2.PRESENCE_ADMITTED
expect_code(grpc.StatusCode.PERMISSION_DENIED, hearings.GoOnRecord,
            hearing_pb2.GoOnRecordRequest(hearing_id=hid), metadata=md(clerk))
assert hearings.GoOnRecord(hearing_pb2.GoOnRecordRequest(hearing_id=hid), metadata=md(judge)).state == \
    common_pb2.HEARING_STATE_ON_RECORD
off = hearings.GoOffRecord(hearing_pb2.GoOffRecordRequest(hearing_id=hid, reason="recess"), metadata=md(judge))
assert off.state == common_pb2.HEARING_STATE_OFF_RECORD
hearings.GoOnRecord(hearing_pb2.GoOnRecordRequest(hearing_id=hid), metadata=md(judge))
adj = hearings.AdjournHearing(hearing_pb2.AdjournHearingRequest(hearing_id=hid, reason="concluded"), metadata=md(judge))
assert adj.state == common_pb2.HEARING_STATE_ADJOURNED

got = hearings.GetHearing(hearing_pb2.GetHearingRequest(hearing_id=hid), metadata=md(counsel.token))
assert {p.id: p.presence for p in got.participants}[witness.participant.id] == common_pb2.PRESENCE_ADMITTED

# The event stream, read from the start up to the head the verification checked, chains to that
# head. `opencourt serve` records the hearing's media on its own: the room's closing (and a
# recess's recording gap) may be appended after the adjournment above, so the log may have grown
# past `got`, by media events only.
v = hearings.VerifyHearingLog(hearing_pb2.VerifyHearingLogRequest(hearing_id=hid), metadata=md(clerk))
assert v.ok and v.events_checked >= got.last_seq, v
# Every one of those events is already in the log, so they arrive at once; the deadline only
# turns a stream that stalls into a failure (DEADLINE_EXCEEDED) instead of a hang.
seen, prev = 0, "0" * 64
stream = hearings.WatchHearing(hearing_pb2.WatchHearingRequest(hearing_id=hid, after_seq=0), metadata=md(clerk),
                               timeout=WATCH_PATIENCE_SECS)
try:
    for e in stream:
        assert e.seq == seen + 1 and e.prev_hash == prev
        if e.seq > got.last_seq:
            assert e.WhichOneof("payload") in ("media_closed", "recording_gap", "media_stalled",
                                                "media_resumed", "transcript_stored"), e
        seen, prev = e.seq, e.hash
        if e.seq == v.events_checked:
            break
except grpc.RpcError as e:
    raise AssertionError(f"WatchHearing failed after seq {seen}: {e.code()}: {e.details()}") from None
finally:
    stream.cancel()
assert seen == v.events_checked, f"the stream ended at seq {seen} of {v.events_checked}"
assert v.head_hash == prev, (v, prev)
print(f"python client: hearing walk ok ({got.last_seq} events, {checks} error codes checked)")
