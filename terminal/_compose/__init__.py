"""The parts `terminal.bootstrap` assembles: first-start seeding (`seed`), the counter's devices
(`devices`: printer, camera, virtual cards) and the platform side (`platform`: the embedded hub
and the background sync loop). Only `terminal.bootstrap` imports this package."""
