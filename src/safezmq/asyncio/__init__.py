"""asyncio support with pyzmq's ``zmq.asyncio`` API: ``Context``, ``Socket`` and ``Poller``.

``import safezmq.asyncio as zaio``; ``await sock.recv()``, ``await sock.send(b"hi")``.

How it runs:

- A ``Context`` created or first used inside a running loop runs its transports, handshakes and
  sessions on that loop (``LoopRunner``): no I/O thread, no thread hop.  Sockets that bind or
  connect before any loop runs (at import time, say) get the usual I/O thread instead, and still
  work from any loop later.  A context whose I/O runs on a loop can be used from another loop
  (in another thread) while that loop runs: it then serves those sockets as an I/O thread
  would (jupyter_client's heartbeat thread relies on this).  While that loop is open but not
  running, use from another loop is refused (``RuntimeError``: nothing would serve it); once
  it is closed, new sockets move to the loop that uses them.
- Every send/recv/poll returns an ``asyncio.Future``.  When the call can complete at once (a
  message is waiting, the pipe has room), the future comes back already completed: no trip
  through the loop.  Otherwise it joins a FIFO queue of waiters.  The I/O side tells a socket
  about new messages or room only through its mailbox; the mailbox's ``on_post`` hook schedules
  one wake-up on the socket's loop (``call_soon`` from the loop's own thread, otherwise
  ``call_soon_threadsafe``; never more than one pending), which serves the queue in order.
- A message is only taken for a future that is still pending, and a send only happens for one,
  so cancelling a recv never loses a message and cancelling a send never sends it.
  (A *task* cancelled after its future got its message but before the task resumed loses that
  message, as with any future-returning API, pyzmq's included.)
- RCVTIMEO/SNDTIMEO fail a waiting future with ``Again``; terminating the context fails every
  waiting future with ``ContextTerminated``; closing the socket cancels them (as pyzmq does).
  An error found when a call is made (closed socket, wrong socket type, context terminated) is
  set on the returned future rather than raised.
- ``ctx.term()`` called on the loop that runs the context's I/O cannot block until queued
  messages are sent (LINGER), since sending needs that loop: it returns once the sockets are
  closed.  ``await asyncio.to_thread(ctx.term)`` waits for the sending as pyzmq's term() does.
- The socket's file descriptor is not signalled per message while nobody looks at it: it is
  switched on the first time someone asks for it (``FD``, ``fileno()``, a sync ``Poller``).
- ``Socket(sync_socket)``, ``Socket.from_socket(s)`` and ``Socket(shadow=...)`` are asyncio
  handles on an existing safezmq socket (pyzmq's shadows): the same socket and state.

Layout: ``_waiters`` (queued calls and helpers), ``_socket``, ``_poller``, ``_context``.
"""

from __future__ import annotations

from ._context import Context
from ._poller import Poller
from ._socket import Socket

__all__ = ["Context", "Poller", "Socket"]

# Public names live here (as pyzmq's zmq.asyncio.Socket does); the modules are private.
for _cls in (Context, Poller, Socket):
    _cls.__module__ = __name__
del _cls
