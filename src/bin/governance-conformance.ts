#!/usr/bin/env node
/**
 * The `governance-conformance` bin: protocol v1 conformance checks against any server
 * (`governance-conformance --url http://host:port`). Checks the Node version first, as
 * the server's bin does.
 */
import { exitIfNodeTooOld } from '../internal/node-version.js'

exitIfNodeTooOld()
void import('../conformance/cli.js')
