/**
 * HTTP streaming for the whole app: request bodies arrive as streams (uploads go to Blob Storage as they come,
 * never whole in memory) and answers stream back. Imported first by every HTTP function file; the library
 * only records the option until startup ends (getCapabilities), so importing it from several files is safe.
 */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import { app } from '@azure/functions';

app.setup({ enableHttpStream: true });
