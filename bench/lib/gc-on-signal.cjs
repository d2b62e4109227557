// Preloaded into every server under test (with --expose-gc): SIGUSR2 runs a full garbage
// collection and answers on stderr, so memory per connection is measured as what the
// connections keep, not what connecting left behind for a later collection.
process.on('SIGUSR2', () => {
  global.gc();
  process.stderr.write('bench-gc-done\n');
});
