"""The performance benchmark: what a stack waits on when it uses this provider.

``make bench`` (or ``PYTHONPATH=harness python -m bench``) builds the artifacts with ``sam build``,
then measures, several times each, the figures docs/performance.md targets and prints one
table, also written to ``docs/performance.md``:

* round trips: Spacelift requests per Create, Update, Delete and attachment,
  counted at the emulator (see :mod:`bench.warm`, :mod:`bench.cold`);
* cold start: a fresh process running the *built* function and layer against a
  floor program doing the same requests with boto3 and the standard library
  (:mod:`bench.cold`, :mod:`bench.floor`, :mod:`bench.container`);
* warm overhead: time beyond Spacelift's injected latency and the PUT, and the
  handler's CPU time (:mod:`bench.warm`);
* memory and size: peak RSS of a cold Create, zipped function and layer
  (:mod:`bench.sizes`);
* scale: 200 Creates from concurrent containers against a rate-limited emulator
  (:mod:`bench.scale`).

Everything runs on loopback: Spacelift is :mod:`spacelift_emulator`, AWS is
moto's server (:mod:`bench.services`). Nothing here asserts a wall-clock time;
``tests/test_bench.py`` runs the quick mode and checks only the request counts.
"""
