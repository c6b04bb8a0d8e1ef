# -*- test-case-name: tests.test_interpreter,tests.test_protocol -*-
"""
The meaning of every command: one message in, one reply out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Optional, Union, cast

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from eofrelay.commands.access import Authenticator, FailedAuthentications
from eofrelay.commands.counts import CommandCounts
from eofrelay.commands.parsing import CommandError, parseMessage
from eofrelay.commands.session import ISession
from eofrelay.core.bank import RelayBank
from eofrelay.core.blink import MAX_BLINK_COUNT, MAX_BLINK_MS
from eofrelay.core.logs import CONNECTIONS, NamedLogger
from eofrelay.core.pulse import MAX_PULSE_MS
from eofrelay.core.relay import HardwareFailure, RelayState
from eofrelay.core.results import Result, then
from eofrelay.core.switchlog import stateName
from eofrelay.wire import replies
from eofrelay.wire.names import ALL
from eofrelay.wire.replies import resultOf

#: A reply: its bytes, or a Deferred firing with them (never failing).
Reply = Union[bytes, "Deferred[bytes]"]

#: What a message means once parsed and checked: its verb (C{"invalid"}
#: for a message that has none the server knows), whether it is accepted
#: before C{auth}, and the call that executes it, given the session and
#: the arguments that follow; or C{None} and (relay, on) for switching
#: one relay on or off.
Meaning = tuple[str, bool, Optional[Callable[..., Reply]], tuple[Any, ...]]

_SUCCESS: Final = replies.SUCCESS

#: The verbs allowed before C{auth} when a token is configured.
BEFORE_AUTHENTICATION: Final = frozenset({"auth", "ping", "help", "quit"})

#: The verbs the server knows, in the order C{help} lists them.
VERBS: Final = (
    "on",
    "off",
    "toggle",
    "pulse",
    "blink",
    "status",
    "relays",
    "watch",
    "auth",
    "ping",
    "help",
    "quit",
)


def _reply(session: ISession, reply: bytes) -> bytes:
    """
    A reply known in advance: an error, C{pong}, C{help}'s.
    """
    return reply


def _number(text: str, highest: int) -> int:
    """
    A count or a time of C{pulse} or C{blink}: a decimal number from 1 to
    C{highest}.  Leading zeros do not count; without them, a number too
    long to be in range is refused before it is converted.

    @raise CommandError: with C{bad argument} otherwise.
    """
    digits = text.lstrip("0")
    if not (text.isdigit() and len(digits) <= len(str(highest))):
        raise CommandError(replies.BAD_ARGUMENT)
    number = int(digits or "0")
    if not 1 <= number <= highest:
        raise CommandError(replies.BAD_ARGUMENT)
    return number


def _success(state: bool) -> bytes:
    """
    The reply to a change that succeeded.
    """
    return replies.SUCCESS


def _stateReply(on: bool) -> bytes:
    """
    The reply to C{status}.
    """
    return replies.ON if on else replies.OFF


class CommandInterpreter:
    """
    Executes the messages of every session on one L{RelayBank}: parses a
    message, checks its arguments and the session's authentication, calls
    the bank, and gives the reply, with the error texts of the protocol.
    It counts every reply by verb and result.

    What a message means depends only on its bytes and on the bank's
    configuration, so the meaning of short messages is remembered: clients
    repeat the same few commands.

    @ivar bank: The relays commanded.
    @ivar authenticator: What C{auth} is checked by.
    @ivar commandCounts: Replies by verb and result, for the metrics (a
        L{CommandCounts}).
    @cvar CACHE_SIZE: How many meanings are remembered at most.
    @cvar CACHE_LENGTH: The longest message whose meaning is remembered.
    """

    log = NamedLogger(CONNECTIONS)
    CACHE_SIZE = 512
    CACHE_LENGTH = 48

    def __init__(
        self,
        bank: RelayBank,
        token: Optional[bytes] = None,
        clock: Optional[IReactorTime] = None,
    ) -> None:
        """
        @param token: The token C{auth} must give before other commands;
            C{None}: no authentication.
        @param clock: What times the throttle of failed C{auth} attempts;
            the bank's clock by default.
        @raise ValueError: for a token that C{auth} could not carry (see
            L{isToken}).
        """
        self.bank = bank
        self.authenticator = Authenticator(token, clock or bank.clock)
        self.commandCounts = CommandCounts()
        self._meanings: dict[bytes, Meaning] = {}
        self._help = b"commands: " + " ".join(VERBS).encode("ascii")
        self._prepare: dict[str, Callable[[tuple[str, ...]], Meaning]] = {
            verb: getattr(self, "_prepare_" + verb) for verb in VERBS
        }

    def execute(self, session: ISession, message: bytes) -> Reply:
        """
        Execute one message (without its delimiter) from C{session}.

        @return: Its reply, or a Deferred firing with it; the Deferred
            never fails: a hardware failure is C{error: hardware failure}.
        """
        meaning = self._meanings.get(message)
        if meaning is None:
            meaning = self._meaning(message)
        verb, before, run, arguments = meaning
        reply: Reply
        if not (before or session.authenticated):
            reply = replies.AUTHENTICATION_REQUIRED
        else:
            try:
                if run is None:
                    # Switching one relay on or off, the commonest command,
                    # is done here rather than by a method of its own: a
                    # call less is 5% of it (benchmarks.inprocess).
                    relay, on, successes = arguments
                    switched = relay.switch(on, session.peer, verb)
                    if switched.__class__ is bool:
                        successes[0] += 1
                        return _SUCCESS
                    reply = then(switched, _success)
                else:
                    reply = run(session, *arguments)
            except Exception:
                reply = self._failed(Failure(), session.peer)
        if isinstance(reply, bytes):
            self.commandCounts.count(verb, resultOf(reply))
            return reply
        return reply.addErrback(self._failed, session.peer).addCallback(
            self._counted, verb
        )

    @property
    def token(self) -> Optional[bytes]:
        """
        The token C{auth} must give, or C{None}.
        """
        return self.authenticator.token

    @property
    def failedAuthentications(self) -> FailedAuthentications:
        """
        The throttle of failed C{auth} attempts, by host.
        """
        return self.authenticator.throttle

    def countCommand(self, verb: str, reply: bytes) -> None:
        """
        Count a reply by verb and result (L{resultOf} it), for the metrics.

        @param verb: A verb the server knows, or C{"invalid"}: never a
            string of the client's own.
        """
        self.commandCounts.count(verb, resultOf(reply))

    def _counted(self, reply: bytes, verb: str) -> bytes:
        """
        Count a reply that came later.
        """
        self.countCommand(verb, reply)
        return reply

    def _failed(self, failure: Failure, peer: str) -> bytes:
        """
        The reply for a command whose relay failed; anything but a
        L{HardwareFailure} (which the relay logged) is logged here.
        """
        if not failure.check(HardwareFailure):
            self.log.failure(
                "unexpected error executing a command from {peer}",
                failure=failure,
                peer=peer,
            )
        return replies.HARDWARE_FAILURE

    # What a message means

    def _meaning(self, message: bytes) -> Meaning:
        """
        Parse and check C{message}, and remember what it means if it is
        short and holds no token.
        """
        try:
            command = parseMessage(message)
        except CommandError as error:
            meaning: Meaning = ("invalid", True, _reply, (error.reply,))
        else:
            prepare = self._prepare.get(command.verb)
            if prepare is None:
                meaning = ("invalid", True, _reply, (replies.UNKNOWN_COMMAND,))
            else:
                try:
                    meaning = prepare(command.arguments)
                except CommandError as error:
                    meaning = (
                        command.verb,
                        command.verb in BEFORE_AUTHENTICATION,
                        _reply,
                        (error.reply,),
                    )
        if len(message) <= self.CACHE_LENGTH and meaning[0] != "auth":
            if len(self._meanings) >= self.CACHE_SIZE:
                self._meanings.clear()
            self._meanings[message] = meaning
        return meaning

    def _relay(self, arguments: tuple[str, ...]) -> RelayState:
        """
        The relay named by a command's only, optional argument.

        @raise CommandError: for more than one argument or an unknown name.
        """
        if not arguments:
            return self.bank.relay()
        if len(arguments) > 1:
            raise CommandError(replies.BAD_ARGUMENT)
        try:
            return self.bank.relay(arguments[0])
        except KeyError:
            if arguments[0].lower() == ALL:
                raise CommandError(replies.BAD_ARGUMENT) from None
            raise CommandError(replies.UNKNOWN_RELAY) from None

    @staticmethod
    def _noArguments(arguments: tuple[str, ...]) -> None:
        """
        @raise CommandError: if C{verb} was given arguments.
        """
        if arguments:
            raise CommandError(replies.BAD_ARGUMENT)

    def _prepareSwitch(self, on: bool, arguments: tuple[str, ...]) -> Meaning:
        verb = stateName(on)
        if len(arguments) == 1 and arguments[0].lower() == ALL:
            if on and self.bank.interlocks:
                raise CommandError(replies.BAD_ARGUMENT)
            return (verb, False, self._switchAll, (on, f"{verb} all"))
        successes = self.commandCounts.successes(verb)
        return (verb, False, None, (self._relay(arguments), on, successes))

    def _prepare_on(self, arguments: tuple[str, ...]) -> Meaning:
        return self._prepareSwitch(True, arguments)

    def _prepare_off(self, arguments: tuple[str, ...]) -> Meaning:
        return self._prepareSwitch(False, arguments)

    def _prepare_toggle(self, arguments: tuple[str, ...]) -> Meaning:
        return ("toggle", False, self._toggle, (self._relay(arguments),))

    def _prepare_pulse(self, arguments: tuple[str, ...]) -> Meaning:
        if not 1 <= len(arguments) <= 2:
            raise CommandError(replies.BAD_ARGUMENT)
        relay = self._relay(arguments[:-1])
        milliseconds = _number(arguments[-1], MAX_PULSE_MS)
        return ("pulse", False, self._pulse, (relay, milliseconds))

    def _prepare_blink(self, arguments: tuple[str, ...]) -> Meaning:
        # blink [RELAY] COUNT ON_MS [OFF_MS]: a relay name is not a number.
        named = bool(arguments) and not arguments[0].isdigit()
        numbers = arguments[1:] if named else arguments
        if not 2 <= len(numbers) <= 3:
            raise CommandError(replies.BAD_ARGUMENT)
        relay = self._relay(arguments[:1] if named else ())
        count = _number(numbers[0], MAX_BLINK_COUNT)
        times = [_number(text, MAX_BLINK_MS) for text in numbers[1:]]
        onMs, offMs = times[0], times[-1]
        return ("blink", False, self._blink, (relay, count, onMs, offMs))

    def _prepare_status(self, arguments: tuple[str, ...]) -> Meaning:
        return ("status", False, self._status, (self._relay(arguments),))

    def _prepare_relays(self, arguments: tuple[str, ...]) -> Meaning:
        self._noArguments(arguments)
        return ("relays", False, self._relays, ())

    def _prepare_watch(self, arguments: tuple[str, ...]) -> Meaning:
        self._noArguments(arguments)
        return ("watch", False, self._watch, ())

    def _prepare_auth(self, arguments: tuple[str, ...]) -> Meaning:
        if len(arguments) != 1:
            raise CommandError(replies.BAD_ARGUMENT)
        return ("auth", True, self._auth, (arguments[0],))

    def _prepare_ping(self, arguments: tuple[str, ...]) -> Meaning:
        self._noArguments(arguments)
        return ("ping", True, _reply, (replies.PONG,))

    def _prepare_help(self, arguments: tuple[str, ...]) -> Meaning:
        self._noArguments(arguments)
        return ("help", True, _reply, (self._help,))

    def _prepare_quit(self, arguments: tuple[str, ...]) -> Meaning:
        self._noArguments(arguments)
        return ("quit", True, self._quit, ())

    # Executing it

    def _switchAll(self, session: ISession, on: bool, command: str) -> Reply:
        return self.bank.switchAll(on, session.peer, command).addCallback(_success)

    def _toggle(self, session: ISession, relay: RelayState) -> Reply:
        return then(relay.toggle(session.peer, "toggle"), _success)

    def _pulse(self, session: ISession, relay: RelayState, milliseconds: int) -> Reply:
        pulsed = relay.pulse(milliseconds, session.peer, f"pulse {milliseconds}")
        return then(pulsed, _success)

    def _blink(
        self, session: ISession, relay: RelayState, count: int, onMs: int, offMs: int
    ) -> Reply:
        command = f"blink {count} {onMs} {offMs}"
        return then(relay.blink(count, onMs, offMs, session.peer, command), _success)

    def _status(self, session: ISession, relay: RelayState) -> Reply:
        return then(relay.state(), _stateReply)

    def _relays(self, session: ISession) -> Reply:
        relays = self.bank.relays
        states: list[Result[bool]] = [relay.state() for relay in relays]

        def listed(states: list[bool]) -> bytes:
            return " ".join(
                f"{relay.name}={stateName(on)}"
                for relay, on in zip(relays, states, strict=True)
            ).encode("ascii")

        if any(isinstance(state, Deferred) for state in states):
            waiting = [s if isinstance(s, Deferred) else succeed(s) for s in states]
            return gatherResults(waiting).addCallback(listed)
        return listed(cast(list[bool], states))

    def _watch(self, session: ISession) -> Reply:
        session.watch()
        return replies.SUCCESS

    def _quit(self, session: ISession) -> Reply:
        session.close()
        return replies.BYE

    def _auth(self, session: ISession, given: str) -> Reply:
        return self.authenticator.authenticate(session, given)
