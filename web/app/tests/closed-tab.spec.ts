// A closed tab does not stay admitted: the server records the participant gone (disconnected)
// once their page's media signalling has been gone for the reconnect grace; a reload within the
// grace keeps their admission.
import { Presence } from "../src/gen/court/v1/common_pb";
import { test, expect, Server, Person, microphone } from "./harness";
import { invite, openScene, passPreflight } from "./room-helpers";

test("a participant whose tab closes is recorded as gone after the grace; a reload within it keeps the admission", async ({ people }) => {
  const server = new Server("closed-tab", ["--reconnect-grace-secs", "4"]);
  await server.start();
  try {
    const { clerk, judge, hearing } = await openScene(server);
    const presence = async (id: string) =>
      (await clerk.hearings.getHearing({ hearingId: hearing.id })).participants.find((p) => p.id === id)?.presence;
    const mic = microphone(server.dir, "quiet");
    const witness = await invite(server, clerk, hearing.id, "Witness Sun");
    const counsel = await invite(server, clerk, hearing.id, "Counsel Wu");
    const people2: Person[] = [];
    for (const [who, inv] of [["witness", witness], ["counsel", counsel]] as const) {
      const p = await people(who, { microphone: mic });
      people2.push(p);
      await p.page.goto(inv.link);
      await passPreflight(p.page);
      await expect.poll(() => presence(inv.participant.id), { timeout: 60_000 }).toBe(Presence.WAITING);
      await judge.hearings.admitParticipant({ hearingId: hearing.id, participantId: inv.participant.id });
      await expect(p.page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 90_000 });
    }
    const [w, c] = people2;

    // Counsel reloads: back within the grace, still admitted, no departure in the log.
    await c.page.reload();
    await passPreflight(c.page);
    await expect(c.page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 90_000 });
    // The witness closes the tab.
    await w.close();
    await expect.poll(() => presence(witness.participant.id), { timeout: 120_000, intervals: [1000] }).toBe(Presence.DISCONNECTED);
    expect(await presence(counsel.participant.id)).toBe(Presence.ADMITTED);
    const log = [];
    const abort = new AbortController();
    const seen = (await clerk.hearings.getHearing({ hearingId: hearing.id })).lastSeq;
    for await (const ev of clerk.hearings.watchHearing({ hearingId: hearing.id, afterSeq: 0n }, { signal: abort.signal })) {
      log.push(ev);
      if (ev.seq >= seen) break;
    }
    abort.abort();
    const left = log.filter((e) => e.payload.case === "left");
    expect(left.map((e) => (e.payload.case === "left" ? [e.payload.value.participantId, e.payload.value.disconnected] : []))).toEqual([
      [witness.participant.id, true],
    ]);
  } catch (e) {
    console.error(`server log:\n${server.log.join("").slice(-8000)}`);
    throw e;
  } finally {
    server.stop();
  }
});
