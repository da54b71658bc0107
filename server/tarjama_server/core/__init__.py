"""The core: what the service does, knowing no transport.

* ``requests`` and ``context``: what a call brings in (the request, its id and deadline)
  and takes out (usage and timings);
* ``translation`` and ``summarization``: the pipelines, one entry point per RPC;
  ``planning`` cuts texts into spans and rebuilds documents; ``recipes`` holds every
  decoding recipe; ``pipelines`` bundles what a transport serves;
* the scheduler, in pieces: ``admission`` (estimates and the admit decision),
  ``batch_policy`` (which jobs make the next batch, a pure function), ``model_worker``
  (the model call and its measurements), with ``scheduler`` wiring them to the event
  loop and ``tickets`` the records they share.

See docs/architecture.md for the request path.
"""
