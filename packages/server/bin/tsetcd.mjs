#!/usr/bin/env node
// `tsetcd` (npx tsetcd, or node_modules/.bin/tsetcd): the server command, etcd's flags.
// A Node script, so npm's shims start it from Windows' cmd and PowerShell as well.
import '../dist/cmd/main.js';
