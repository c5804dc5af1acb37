"""Screen pops delivered to a real aiohttp server on 127.0.0.1: success, failures, slowness."""

import asyncio

from aiohttp import web

from callcore.center.screenpop import RetryPolicy, ScreenPop, ScreenPopper

FAST = RetryPolicy(attempts=3, first_delay=0.01, factor=2.0, max_delay=0.05, timeout=0.5)


def pop(i=1):
    return ScreenPop.build(
        call_id=f"c{i}",
        agent_id="a1",
        queue="cards",
        caller_number="+8613800000001",
        attrs={
            "customer_id": "C1",
            "customer_name": "Li Wei",
            "tier": "gold",
            "ivr_path": ["main", "balance_card"],
            "ivr_inputs": {"card": "************1111", "menu": "1"},
        },
        wait=12.5,
        previous_calls=3,
        last_agent="a9",
        at=100.0,
    )


async def crm(behaviour):
    """A CRM endpoint; ``behaviour(n)`` returns (status, delay) for the n-th request."""
    got = []

    async def handle(request):
        body = await request.json()
        got.append(body)
        status, delay = behaviour(len(got))
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"ok": status < 300}, status=status)

    app = web.Application()
    app.router.add_post("/pop", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/pop", got


def test_webhook_and_hook_get_the_pop(arun):
    async def main():
        runner, url, got = await crm(lambda n: (200, 0))
        hooked = []

        async def desktop(p):
            hooked.append(p)

        try:
            async with ScreenPopper(webhooks=[url], hooks=[desktop], retry=FAST) as sp:
                sp.publish(pop())
                await sp.drain()
                return got, hooked, sp.deliveries
        finally:
            await runner.cleanup()

    got, hooked, deliveries = arun(main())
    assert got == [pop().as_json()]
    assert got[0]["ivr_inputs"] == {"card": "************1111", "menu": "1"}
    assert got[0]["last_agent"] == "a9" and got[0]["previous_calls"] == 3
    assert hooked == [pop()]
    assert sorted(d.ok for d in deliveries) == [True, True]


def test_retries_after_server_errors(arun):
    async def main():
        runner, url, got = await crm(lambda n: (503, 0) if n <= 2 else (200, 0))
        try:
            async with ScreenPopper(webhooks=[url], retry=FAST) as sp:
                sp.publish(pop())
                await sp.drain()
                return got, sp.deliveries
        finally:
            await runner.cleanup()

    got, (d,) = arun(main())
    assert len(got) == 3 and d.ok and d.attempts == 3


def test_gives_up_and_client_error_not_retried(arun):
    async def main():
        r1, down, _ = await crm(lambda n: (500, 0))
        r2, refuses, got2 = await crm(lambda n: (422, 0))
        try:
            async with ScreenPopper(webhooks=[down, refuses], retry=FAST) as sp:
                sp.publish(pop())
                await sp.drain()
                return got2, sp.deliveries
        finally:
            await r1.cleanup()
            await r2.cleanup()

    got2, deliveries = arun(main())
    by = {d.target.rsplit(":", 1)[1]: d for d in deliveries}
    assert len(deliveries) == 2 and not any(d.ok for d in deliveries)
    assert sorted(d.attempts for d in deliveries) == [1, 3]
    assert len(got2) == 1 and "HTTP 422" in [d.error for d in by.values()]


def test_slow_crm_times_out_and_never_blocks_the_call(arun):
    async def main():
        release = asyncio.Event()
        seen = set()

        def slow_first_c0(n):
            call_id = got[-1]["call_id"]
            first = call_id not in seen
            seen.add(call_id)
            return (200, 2.5) if call_id == "c0" and first else (200, 0)

        runner, url, got = await crm(slow_first_c0)

        async def stuck_hook(p):
            await release.wait()

        try:
            patient = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05, timeout=1.0)
            async with ScreenPopper(webhooks=[url], hooks=[stuck_hook], retry=patient) as sp:
                # publish is synchronous: the call path continues at once
                for i in range(5):
                    sp.publish(pop(i))
                call_progress = ["bridged"]  # what the call does meanwhile
                await asyncio.sleep(0)
                pending_before = len(sp.deliveries)
                await sp.drain()
                return got, sp.deliveries, call_progress, pending_before
        finally:
            await runner.cleanup()

    _got, deliveries, progress, before = arun(main())
    assert progress == ["bridged"] and before == 0
    web_d = [d for d in deliveries if d.target.startswith("http")]
    assert len(web_d) == 5 and all(d.ok for d in web_d)
    slow = next(d for d in web_d if d.call_id == "c0")
    assert slow.attempts == 2  # first attempt timed out after 1 s, retry succeeded
    hook_d = [d for d in deliveries if not d.target.startswith("http")]
    assert len(hook_d) == 5 and not any(d.ok for d in hook_d)  # hook timed out


def test_backlog_full_drops_oldest(arun):
    async def main():
        async def hook(p):
            return None

        sp = ScreenPopper(hooks=[hook], backlog=2, concurrency=1, retry=FAST)
        await sp.start()
        try:
            for i in range(5):
                sp.publish(pop(i))
            await sp.drain()
            return sp.dropped, [d.call_id for d in sp.deliveries]
        finally:
            await sp.close()

    dropped, delivered = arun(main())
    assert dropped == 3 and delivered == ["c3", "c4"]


def test_publish_before_start_is_an_error():
    sp = ScreenPopper()
    try:
        sp.publish(pop())
    except RuntimeError as e:
        assert "not started" in str(e)
    else:
        raise AssertionError("expected RuntimeError")
