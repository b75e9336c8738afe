/**
 * The app's entry: settings shared by every function. Each function registers itself in its own
 * file under functions/ and orchestrations/ (package.json "main" globs them).
 */
import { app } from '@azure/functions';

app.setup({ enableHttpStream: false });
