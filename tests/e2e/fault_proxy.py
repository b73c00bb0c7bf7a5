"""A TCP proxy between teamreg and PostgreSQL that a test controls (issue 13): pass traffic, delay every
chunk, stall (stop forwarding, connections stay open), drop every connection, refuse new ones."""

import socket
import threading
import time


class FaultProxy:
    """Listens on 127.0.0.1:<port> and forwards each connection to target_port. Thread-based, loopback only;
    stop() ends every thread it started."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._flowing = threading.Event()
        self._flowing.set()
        self._refusing = False
        self._delay_s = 0.0
        self._stopped = threading.Event()
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._thread.start()

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    # --- controls -------------------------------------------------------------------------------------
    def stall(self) -> None:
        """Stops forwarding in both directions; connections stay open (new ones are accepted, then stall)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def delay(self, seconds: float) -> None:
        """Holds every chunk this long before forwarding it (0 to stop)."""
        self._delay_s = seconds

    def refuse(self, on: bool = True) -> None:
        """New connections are closed at once (the listener stays open, like a RST from a dead port)."""
        self._refusing = on

    def drop_all(self) -> int:
        """Closes every open connection at once, both sides; returns how many."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        return len(pairs)

    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def stop(self) -> None:
        self._stopped.set()
        self._flowing.set()
        self.drop_all()
        self._thread.join(5)
        self._listener.close()

    # --- plumbing -------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            if self._refusing:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()  # linger 0: RST
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            src.settimeout(0.2)
            while not self._stopped.is_set():
                if not self._flowing.is_set():
                    # Stalled: read nothing, so TCP flow control holds the sender; check again soon.
                    self._flowing.wait(0.2)
                    continue
                try:
                    chunk = src.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                if self._delay_s:
                    time.sleep(self._delay_s)
                while not self._flowing.is_set() and not self._stopped.is_set():
                    self._flowing.wait(0.2)  # a chunk read just before a stall waits with the rest
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            # One side ended: end the other too, and forget the pair (its second pump ends on its own).
            with self._lock:
                self._pairs = [p for p in self._pairs if src not in p]
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
