import { defineSection, oneOf, setting } from '../settingTypes';

export const logLevels = ['error', 'warn', 'info', 'debug'] as const;
export interface LoggingSettings {
  level: (typeof logLevels)[number];
}

export const loggingSection = defineSection(
  {
    LOG_LEVEL: setting(oneOf(logLevels).default('info'), {
      description:
        'Least severe level the app logs (error, warn, info, debug). Tokens and secrets are never logged at any level.',
      expected: 'one of error, warn, info, debug',
    }),
  },
  (v): LoggingSettings => ({ level: v.LOG_LEVEL }),
);
