/**
 * How much of its node an agent reports at registration (RegisterRequest): the managers refuse a
 * report past these, so the agent trims its own to them.
 */
export const NODE_REPORT_LIMITS = {
  interfaces: 128,
  addressesPerInterface: 8,
  linkKinds: 16,
  linkKindLength: 32,
} as const;
