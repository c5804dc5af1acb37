import asyncio

import pytest

from callcore.center.ivr import ScriptedCall
from callcore.center.survey import Survey
from callcore.center.voicemail import VoicemailStore


def test_voicemail_store_list_and_handle(tmp_path):
    seen = []
    db = tmp_path / "vm.sqlite"
    vm = VoicemailStore(db, notify=seen.append)
    a = vm.add("cards", "+861", "/rec/a.wav", 100.0, duration=12.5, meta={"tier": "gold"})
    b = vm.add("cards", "+862", "/rec/b.wav", 50.0)
    vm.add("loans", "+863", "/rec/c.wav", 70.0)
    assert [m.id for m in seen] == [a, b, 3]
    assert [m.caller for m in vm.list("cards")] == ["+862", "+861"]  # by time
    m = vm.mark_handled(a, "agent7", 200.0)
    assert m.handled and m.handled_by == "agent7" and m.meta == {"tier": "gold"}
    assert [x.id for x in vm.list("cards", unhandled_only=True)] == [b]
    with pytest.raises(ValueError, match="already handled"):
        vm.mark_handled(a, "agent8", 201.0)
    with pytest.raises(KeyError):
        vm.mark_handled(999, "x", 1.0)
    vm.close()
    # persisted
    vm2 = VoicemailStore(db)
    assert len(vm2.list()) == 3 and vm2.get(a).handled
    vm2.close()


def test_voicemail_store_from_threads():
    vm = VoicemailStore()

    async def main():
        await asyncio.gather(
            *(asyncio.to_thread(vm.add, "b", f"+{i}", f"/r/{i}.wav", float(i)) for i in range(20))
        )

    asyncio.run(main())
    assert len(vm.list("b")) == 20


@pytest.mark.parametrize(
    ("digits", "score", "task"), [("1", 1, True), ("2", 2, True), ("3", 3, False), ("5", 5, False)]
)
def test_survey_low_score_creates_callback_for_team_leader(arun, digits, score, task):
    tasks = []
    s = Survey(team_leader={"a1": "lead-1"}, low=2, on_task=tasks.append)
    call = ScriptedCall([digits], caller_number="+8613000000000")
    r = arun(s.run(call, "c1", "a1", 10.0))
    assert r.score == score
    assert bool(tasks) is task
    if task:
        assert tasks[0].assignee == "lead-1" and tasks[0].caller == "+8613000000000"
    assert call.log[-1] == ("hangup", "normal")


def test_survey_invalid_then_no_answer():
    s = Survey(team_leader=lambda a: "lead-" + a, retries=1)
    call = ScriptedCall(["9", None])
    r = asyncio.run(s.run(call, "c1", "a1", 10.0))
    assert r.score is None and s.tasks == []
    s.record("c2", "a1", "+86", 4, 11.0)
    s.record("c3", "a1", "+86", 1, 12.0)
    assert s.average("a1") == 2.5 and s.tasks[0].assignee == "lead-a1"
    with pytest.raises(ValueError):
        s.record("c4", "a1", "+86", 6, 13.0)
