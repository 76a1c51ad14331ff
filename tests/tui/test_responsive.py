"""The wizard answers keys while the HSM thread works: an HSM call in flight never holds the
event loop. A call that waits on an Event stands for a long key generation, so the test does
not depend on how fast SoftHSM is (scripts/bench-tui-lag measures a real RSA 4096 one)."""

import asyncio
import threading

from textual import events

from ceremony.hsm import thread
from tui.app import WizardApp
from tui.screens.dialogs import HelpScreen
from tui.state import WizardState


def send_key(app, key: str) -> None:
    """A key as the terminal driver delivers it."""
    event = events.Key(key, None)
    event.set_sender(app)
    app._driver.send_message(event)


async def test_f1_is_answered_while_the_hsm_thread_is_busy(tmp_path, token_store):
    released = threading.Event()
    app = WizardApp(WizardState(env=token_store.env, media=tmp_path,
                                plan_path=tmp_path / "plan.toml"))
    async with app.run_test(size=(80, 24)):
        busy = asyncio.ensure_future(thread.call(released.wait, 30))
        await asyncio.sleep(0.05)
        assert not busy.done()
        send_key(app, "f1")
        for _ in range(500):
            if isinstance(app.screen, HelpScreen):
                break
            await asyncio.sleep(0.01)
        shown_while_busy = isinstance(app.screen, HelpScreen) and not busy.done()
        released.set()
        assert await busy is True
    assert shown_while_busy
