"""Continuous 20 ms RTP streams for failover tests: every stream sends paced packets from its
phone's RTP socket and records when packets arrive on it, so a test can measure the gap a
node's death leaves in the audio. One sender and one receiver thread serve all streams, and
both stop by themselves after max_seconds."""
import random
import selectors
import struct
import threading
import time


class Stream:
    def __init__(self, sock, dest, pt=0):
        self.sock, self.dest, self.pt = sock, dest, pt
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.sent = 0
        self.arrivals = []  # time.monotonic() of each packet received
        self.paused = False  # a held call's phone stops sending

    def packet(self):
        header = struct.pack("!BBHII", 0x80, self.pt, self.seq & 0xFFFF, self.ts & 0xFFFFFFFF,
                             self.ssrc)
        self.seq += 1
        self.ts += 160
        return header + bytes(160)

    def received_between(self, start, end):
        return sum(1 for t in self.arrivals if start <= t <= end)

    def largest_gap(self, start, end):
        """Longest silence (s) between start and end, counting from the last packet before start
        (or start itself) to the first after end (or end)."""
        times = [t for t in self.arrivals if start <= t <= end]
        before = [t for t in self.arrivals if t < start]
        points = [before[-1] if before else start] + times + [end]
        return max(b - a for a, b in zip(points, points[1:]))


class StreamSet:
    def __init__(self, max_seconds=60):
        self.streams = []
        self.max_seconds = max_seconds
        self._stop = threading.Event()
        self._threads = []

    def add(self, sock, dest, pt=0):
        sock.setblocking(False)  # the threads own the socket from now on
        s = Stream(sock, dest, pt)
        self.streams.append(s)
        return s

    def start(self):
        self._deadline = time.monotonic() + self.max_seconds
        for target in (self._send, self._receive):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(5)

    def _running(self):
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _send(self):
        tick = time.monotonic()
        while self._running():
            for s in self.streams:
                if not s.paused:
                    try:
                        s.sock.sendto(s.packet(), s.dest)
                        s.sent += 1
                    except OSError:
                        pass  # ICMP unreachable from a dead address: keep sending
            tick += 0.02
            time.sleep(max(0.0, tick - time.monotonic()))

    def _receive(self):
        sel = selectors.DefaultSelector()
        for s in self.streams:
            sel.register(s.sock, selectors.EVENT_READ, s)
        while self._running():
            for key, _ in sel.select(timeout=0.1):
                s = key.data
                try:
                    while True:
                        s.sock.recvfrom(4096)
                        s.arrivals.append(time.monotonic())
                except (BlockingIOError, OSError):
                    pass
        sel.close()
