# -*- test-case-name: tests.test_service -*-
"""
The eofrelay service: a L{RelayFactory} listening on endpoints, and what
happens to the relays of its bank when it stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Optional, cast

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import IService, MultiService, Service
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import globalLogPublisher

from eofrelay.core.buttons import Button
from eofrelay.core.logs import SERVICE, NamedLogger
from eofrelay.interfaces import IPins
from eofrelay.tcp.factory import RelayFactory
from eofrelay.wiring.emfile import DroppedConnections
from eofrelay.wiring.hangup import StopOnHangUp
from eofrelay.wiring.listening import listening, startFailed


class RelayService(MultiService):
    """
    Serves a L{RelayFactory} on one or more endpoints.

    Connections that Twisted drops because the process is out of file
    descriptors are counted with the factory's refused connections
    (L{DroppedConnections}) while the service runs.

    When the service stops it stops listening and closes the connections;
    then, with C{onExit="off"} (the default), it drives every relay off
    without recording that in the state file, so that C{--power-on
    restore} brings back what was in force, and releases the GPIO pins; with
    C{onExit="keep"}, it leaves the relays as they are and the pins driving
    them, but ends pending pulses, blinks and max-on limits (switching
    those relays as their end would have: nothing could once the service
    is gone).  In both cases it waits until the state file is
    written.

    When an endpoint cannot listen (its port in use, say), starting logs
    why in one line and raises
    L{ListenFailed<eofrelay.wiring.listening.ListenFailed>}: a
    L{CannotListenError<twisted.internet.error.CannotListenError>} that
    also ends twistd with status 1 and no traceback.  That holds for the
    service's other children (the C{--metrics} listener) too.

    Children added with L{addStateReporter} (the MQTT bridge) are stopped
    only after that, so that what they report includes the states driven
    at stop.

    @ivar factory: The factory served.
    @ivar pins: The GPIO backend whose pins are released at stop, if any.
    @ivar buttons: The push buttons, stopped first when the service stops.
    @ivar onExit: C{"off"} or C{"keep"}.
    """

    log = NamedLogger(SERVICE)

    def __init__(
        self,
        factory: RelayFactory,
        endpoints: Iterable[IStreamServerEndpoint],
        pins: Optional[IPins] = None,
        onExit: str = "off",
        stopOnHangUp: bool = False,
        setUpPins: Optional[Callable[[], object]] = None,
        buttons: Sequence[Button] = (),
    ) -> None:
        """
        @param stopOnHangUp: Stop on SIGHUP as on SIGTERM while running
            (L{StopOnHangUp}), as C{twistd eofrelay} does; an application
            that builds the service keeps its own signal handling by
            default.
        @param setUpPins: Sets the relays' pins up (drives them), called
            once every endpoint listens, so that a service that cannot
            listen leaves the relays alone; it may raise
            L{GPIOUnavailable <eofrelay.gpio.GPIOUnavailable>}.
        @param buttons: The push buttons whose inputs C{setUpPins} sets
            up: the first thing stopping does is to stop them and release
            the inputs of C{pins}, so that no press switches anything
            after the exit policy, whichever it is.
        """
        super().__init__()
        self._hangUp: Optional[StopOnHangUp] = None
        if stopOnHangUp:
            from twisted.internet import reactor

            self._hangUp = StopOnHangUp(reactor)
        if onExit not in ("off", "keep"):
            raise ValueError(f"onExit must be 'off' or 'keep', not {onExit!r}")
        self.factory = factory
        self._setUpPins = setUpPins
        self._dropped = DroppedConnections(factory.refusedCounts)
        self.pins = pins
        self.buttons = list(buttons)
        self.onExit = onExit
        self._reporters: list[IService] = []
        for endpoint in endpoints:
            listener = StreamServerEndpointService(endpoint, factory)
            # Fail at start-up, not later in the log, if the port is taken.
            listener._raiseSynchronously = True
            listener.setServiceParent(self)

    def privilegedStartService(self) -> None:
        """
        Start listening (twistd does this before it gives up privileges,
        so that a port below 1024 can be had).

        @raise eofrelay.wiring.listening.ListenFailed: if an endpoint
            cannot listen.
        """
        with listening(self.log):
            super().privilegedStartService()
        self._pinsUp()

    def startService(self) -> None:
        """
        Start listening, set the pins up (unless L{privilegedStartService}
        did both), log the relays served, then record the relays' states
        at start in the state file, if any.

        The states at start are the states in force from then on, whatever
        chose them (C{--power-on off}, C{on}, C{restore}, or C{keep}, which
        knows them only once the pins are set up), so that a later
        C{restore} never brings back states older than this run.  A
        service that cannot listen writes no state file.

        @raise eofrelay.wiring.listening.ListenFailed: if an endpoint
            cannot listen (when L{privilegedStartService} did not start
            them).
        """
        bank = self.factory.bank
        globalLogPublisher.addObserver(self._dropped)
        with listening(self.log):
            super().startService()
        self._pinsUp()
        # Once the relays are in their states at start: what a client that
        # reads the log may wait for.
        self.log.info(
            "eofrelay serving relays: {relays}",
            relays=", ".join(relay.name for relay in bank.relays),
        )
        if bank.stateFile is not None:
            bank.stateFile.save(bank.commandedStates())
        if self._hangUp is not None:
            self._hangUp.install()

    def addStateReporter(self, reporter: IService) -> None:
        """
        Add C{reporter} as a child that tells others the relays' states (the
        MQTT bridge): it is stopped after the exit policy has driven the
        relays, so that it can still report those states.
        """
        self._reporters.append(reporter)
        reporter.setServiceParent(self)

    def _pinsUp(self) -> None:
        """
        Set the pins up, once, now that every endpoint listens.

        @raise eofrelay.wiring.listening.StartFailed: if they cannot be.
        """
        setUp, self._setUpPins = self._setUpPins, None
        if setUp is None:
            return
        from eofrelay.gpio import GPIOUnavailable

        try:
            setUp()
        except GPIOUnavailable as error:
            raise startFailed(self.log, f"eofrelay: {error}") from None

    def stopService(self) -> Deferred[object]:
        """
        Stop the buttons and release their inputs, stop listening, close
        the connections, apply the exit policy, wait for the state file,
        stop the state reporters, release the pins.
        """
        self._stopButtons()
        globalLogPublisher.removeObserver(self._dropped)
        Service.stopService(self)
        stopped = self._stopChildren(
            [child for child in self if child not in self._reporters]
        )
        stopped.addCallback(lambda _: self.factory.disconnectAll())
        stopped.addCallback(lambda _: self._applyExitPolicy())
        stopped.addBoth(self._flushStateFile)
        stopped.addBoth(lambda _: self._stopChildren(self._reporters))
        stopped.addBoth(self._release)
        # Only now: a second SIGHUP during the stop must not kill it.
        stopped.addBoth(self._restoreHangUp)
        return stopped

    def _stopButtons(self) -> None:
        """
        Take no more presses, and give back the buttons' inputs (outputs
        stay, for the exit policy).
        """
        for button in self.buttons:
            button.stop()
        if self.buttons and self.pins is not None:
            self.pins.releaseInputs()

    @staticmethod
    def _stopChildren(children: Iterable[IService]) -> Deferred[object]:
        """
        Stop C{children}, the last added first, as L{MultiService} does.
        """
        stopping = [
            maybeDeferred(child.stopService) for child in reversed(list(children))
        ]
        return cast("Deferred[object]", DeferredList(stopping))

    def _restoreHangUp(self, result: object) -> object:
        """
        Give SIGHUP back its handler from before L{startService}.
        """
        if self._hangUp is not None:
            self._hangUp.uninstall()
        return result

    def _applyExitPolicy(self) -> Deferred[None]:
        """
        Drive every relay off (C{"off"}), or end the pending pulses
        (C{"keep"}).
        """
        bank = self.factory.bank
        # What the switch log holds back comes first, and the exit policy's
        # switches are then logged one by one, whatever came before.
        bank.flushLog()
        if self.onExit == "keep":
            ended = DeferredList(
                [relay.endPulse() for relay in bank.relays if relay.pulsing]
                + [relay.endBlink() for relay in bank.relays if relay.blinking]
                + [relay.endLimit() for relay in bank.relays if relay.limited],
                consumeErrors=True,
            )
            return ended.addCallback(lambda _: None)
        if bank.stateFile is not None:
            bank.stateFile.freeze()
        # Switching a relay off ends its pending pulse, as a client's off
        # does; a relay that failed is logged by the relay.
        switched = bank.switchAll(False, "shutdown", "on-exit off")
        return switched.addBoth(self._cancelPulses)

    def _cancelPulses(self, ignored: object) -> None:
        """
        Cancel the pulses and max-on limits still pending: those of relays
        whose switch-off failed, which nothing may drive once the pins are
        released.
        """
        for relay in self.factory.bank.relays:
            relay.cancelPulse()
            relay.cancelBlink()
            relay.cancelLimit()

    def _flushStateFile(self, result: object) -> object:
        """
        Log what is still summarised, and wait until the state file has
        been written.
        """
        bank = self.factory.bank
        bank.flushLog()
        if bank.stateFile is None:
            return None
        return bank.stateFile.flush()

    def _release(self, result: object) -> None:
        """
        Release the GPIO pins, whatever happened before; with C{onExit}
        C{"keep"}, leave them driving their levels instead (a released pin
        floats, which releases most relays).
        """
        if self.pins is None:
            return
        if self.onExit == "keep":
            self.log.info("GPIO pins left as outputs (--on-exit keep)")
            return
        self.pins.release()
