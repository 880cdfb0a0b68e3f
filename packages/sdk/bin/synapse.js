#!/usr/bin/env node
// The `synapse` command: compiled JavaScript from dist/, or the sources in the repo (launch.js).
import { launch } from './launch.js';

await launch('#cli');
