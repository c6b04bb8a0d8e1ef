"""
Tests for L{eofrelay.wire.framing}.
"""

from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from eofrelay.wire.framing import EOFReceiver, _partialDelimiterLength


class RecordingReceiver(EOFReceiver):
    """
    An L{EOFReceiver} that records its messages and over-long messages.
    """

    def __init__(self, maxLength: int = 10) -> None:
        self.MAX_LENGTH = maxLength
        self.messages: list[bytes] = []
        self.exceeded: list[bytes] = []

    def lineReceived(self, message: bytes) -> None:
        self.messages.append(message)

    def lineLengthExceeded(self, message: bytes) -> None:
        self.exceeded.append(message)


def connected(maxLength: int = 10) -> tuple[RecordingReceiver, StringTransport]:
    receiver = RecordingReceiver(maxLength)
    transport = StringTransport()
    receiver.makeConnection(transport)
    return receiver, transport


class EOFReceiverTests(SynchronousTestCase):
    """
    Tests for L{EOFReceiver}.
    """

    def test_messages(self) -> None:
        """
        Every complete message in a segment is delivered, in order, without
        its delimiter; an incomplete one waits.
        """
        receiver, _ = connected()
        receiver.dataReceived(b"on<EOF>off<EOF>sta")
        self.assertEqual(receiver.messages, [b"on", b"off"])
        receiver.dataReceived(b"tus<EOF>")
        self.assertEqual(receiver.messages, [b"on", b"off", b"status"])

    def test_delimiterSplit(self) -> None:
        """
        A delimiter split across segments at every position still ends the
        message.
        """
        for cut in range(1, 5):
            receiver, _ = connected()
            data = b"on<EOF>"
            receiver.dataReceived(data[: 2 + cut])
            self.assertEqual(receiver.messages, [])
            receiver.dataReceived(data[2 + cut :])
            self.assertEqual(receiver.messages, [b"on"])

    def test_oneByteAtATime(self) -> None:
        """
        Messages arriving one byte at a time are delivered.
        """
        receiver, _ = connected()
        for byte in b"on<EOF>off<EOF>":
            receiver.dataReceived(bytes((byte,)))
        self.assertEqual(receiver.messages, [b"on", b"off"])

    def test_maxLengthAccepted(self) -> None:
        """
        A message of exactly C{MAX_LENGTH} bytes is accepted, also when its
        delimiter arrives split at any position.
        """
        message = b"x" * 10
        for cut in range(0, 6):
            receiver, _ = connected(10)
            data = message + b"<EOF>"
            receiver.dataReceived(data[: 10 + cut])
            receiver.dataReceived(data[10 + cut :])
            self.assertEqual((receiver.messages, receiver.exceeded), ([message], []))

    def test_shortMessageWithPartialDelimiter(self) -> None:
        """
        A short message followed by a partial delimiter is not mistaken
        for an over-long one.
        """
        receiver, _ = connected(10)
        receiver.dataReceived(b"x" * 8 + b"<EO")
        receiver.dataReceived(b"F>")
        self.assertEqual((receiver.messages, receiver.exceeded), ([b"x" * 8], []))

    def test_tooLongComplete(self) -> None:
        """
        A complete message longer than C{MAX_LENGTH} calls
        C{lineLengthExceeded} once and nothing after it is delivered.
        """
        receiver, _ = connected(10)
        receiver.dataReceived(b"ok<EOF>" + b"x" * 11 + b"<EOF>on<EOF>")
        receiver.dataReceived(b"off<EOF>")
        self.assertEqual(receiver.messages, [b"ok"])
        self.assertEqual(receiver.exceeded, [b"x" * 11])

    def test_tooLongIncomplete(self) -> None:
        """
        More than C{MAX_LENGTH} bytes without a delimiter (other than a
        possible start of one) call C{lineLengthExceeded} at once.
        """
        receiver, _ = connected(10)
        receiver.dataReceived(b"x" * 10 + b"<")
        self.assertEqual(receiver.exceeded, [])
        receiver.dataReceived(b"y")
        self.assertEqual(receiver.exceeded, [b"x" * 10 + b"<y"])
        receiver.dataReceived(b"<EOF>")
        self.assertEqual(receiver.messages, [])

    def test_stopReceiving(self) -> None:
        """
        After C{stopReceiving}, the rest of the segment and later data are
        discarded.
        """

        class Stopper(RecordingReceiver):
            def lineReceived(self, message: bytes) -> None:
                super().lineReceived(message)
                if message == b"quit":
                    self.stopReceiving()

        receiver = Stopper()
        receiver.makeConnection(StringTransport())
        receiver.dataReceived(b"on<EOF>quit<EOF>off<EOF>")
        receiver.dataReceived(b"on<EOF>")
        self.assertEqual(receiver.messages, [b"on", b"quit"])

    def test_pauseAndResume(self) -> None:
        """
        While paused, messages are held back and the transport is paused;
        resuming delivers them in order.
        """

        class Pauser(RecordingReceiver):
            def lineReceived(self, message: bytes) -> None:
                super().lineReceived(message)
                if message == b"pause":
                    self.pauseReceiving()

        receiver = Pauser()
        transport = StringTransport()
        receiver.makeConnection(transport)
        receiver.dataReceived(b"a<EOF>pause<EOF>b<EOF>c")
        self.assertEqual(receiver.messages, [b"a", b"pause"])
        self.assertEqual(transport.producerState, "paused")
        receiver.dataReceived(b"<EOF>d<EOF>")
        self.assertEqual(receiver.messages, [b"a", b"pause"])
        receiver.resumeReceiving()
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(receiver.messages, [b"a", b"pause", b"b", b"c", b"d"])

    def test_defaultLengthExceededCloses(self) -> None:
        """
        By default an over-long message closes the connection.
        """
        receiver = EOFReceiver()
        receiver.MAX_LENGTH = 3
        transport = StringTransport()
        receiver.makeConnection(transport)
        receiver.dataReceived(b"abcde")
        self.assertTrue(transport.disconnecting)

    def test_messagesPerTurn(self) -> None:
        """
        One call of C{dataReceived} delivers at most C{MESSAGES_PER_TURN}
        messages; the rest, with the incomplete one after them, are held
        back, the transport is paused, and C{messagesHeldBack} is called;
        C{resumeReceiving} delivers the next ones, in order.
        """

        class Turns(RecordingReceiver):
            MESSAGES_PER_TURN = 2
            heldBack = 0

            def messagesHeldBack(self) -> None:
                self.heldBack += 1

        receiver = Turns(maxLength=3)
        transport = StringTransport()
        receiver.makeConnection(transport)
        # Together longer than MAX_LENGTH: only whole messages count.
        receiver.dataReceived(b"a<EOF>b<EOF>c<EOF>d<EOF>e<EOF>f")
        self.assertEqual(receiver.messages, [b"a", b"b"])
        self.assertEqual((receiver.heldBack, transport.producerState), (1, "paused"))
        receiver.resumeReceiving()
        self.assertEqual(receiver.messages, [b"a", b"b", b"c", b"d"])
        self.assertEqual(receiver.heldBack, 2)
        receiver.resumeReceiving()
        self.assertEqual(receiver.messages, [b"a", b"b", b"c", b"d", b"e"])
        self.assertEqual((receiver.heldBack, transport.producerState), (2, "producing"))
        receiver.dataReceived(b"<EOF>")
        self.assertEqual(receiver.messages[-1], b"f")
        self.assertEqual(receiver.exceeded, [])

    def test_messagesPerTurnDefault(self) -> None:
        """
        By default every message of a segment is delivered in one call.
        """
        receiver, transport = connected()
        receiver.dataReceived(b"x<EOF>" * 10_000)
        self.assertEqual(len(receiver.messages), 10_000)
        self.assertEqual(transport.producerState, "producing")

    def test_partialDelimiterLength(self) -> None:
        """
        L{_partialDelimiterLength} finds the longest suffix that starts a
        delimiter.
        """
        self.assertEqual(_partialDelimiterLength(b"ab<EO", b"<EOF>"), 3)
        self.assertEqual(_partialDelimiterLength(b"ab<", b"<EOF>"), 1)
        self.assertEqual(_partialDelimiterLength(b"ab", b"<EOF>"), 0)
        self.assertEqual(_partialDelimiterLength(b"<E<EOF", b"<EOF>"), 4)
        self.assertEqual(_partialDelimiterLength(b"", b"<EOF>"), 0)
