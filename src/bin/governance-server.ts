#!/usr/bin/env node
/**
 * The `governance-server` bin: checks the Node version before the server (and undici)
 * load, so an old Node gets one line and exit 1. The dynamic import keeps the check first
 * whatever order the bundler gives the static imports.
 */
import { exitIfNodeTooOld } from '../internal/node-version.js'

exitIfNodeTooOld()
void import('../server/cli.js')
