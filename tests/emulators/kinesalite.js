// Starts kinesalite bound to 127.0.0.1 (its own CLI binds every interface).
// Usage: node kinesalite.js [port] [data-dir]. Port 0 picks a free one; the
// chosen port is printed as "LISTENING <port>" for the test harness.
const kinesalite = require("kinesalite");

const port = Number(process.argv[2] || 0);
const options = { createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50, shardLimit: 50 };
if (process.argv[3]) options.path = process.argv[3];

const server = kinesalite(options);
server.listen(port, "127.0.0.1", () => {
  console.log(`LISTENING ${server.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
