#!/usr/bin/env node
// The `ringpoll` command: a committed entry point (npm links bins at install time, before dist/ is built).
import "../dist/cli.js";
