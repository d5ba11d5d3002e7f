#!/usr/bin/env node
// `tsetcdctl` (npx tsetcdctl, or node_modules/.bin/tsetcdctl): etcdctl v3's commands.
// A Node script, so npm's shims start it from Windows' cmd and PowerShell as well.
import '../dist/main.js';
