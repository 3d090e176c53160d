/**
 * The largest message any Trellis process sends or accepts: gRPC's default receive
 * limit, which every client keeps, so a larger message would only fail at the reader.
 */
export const maxMessageBytes = 4 * 1024 * 1024;
