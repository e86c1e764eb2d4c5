// Preloaded into every service the local stack starts (node --import). The stack talks to each
// child over an IPC channel, which closes when the stack process dies, even by SIGKILL. The child
// then sends itself SIGTERM, so it shuts down through its own graceful path instead of living on
// as an orphan.
if (process.channel) {
  // An open channel would keep a child alive that is otherwise done.
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
