#!/usr/bin/env node
import '../dist/cliEntry.js'
