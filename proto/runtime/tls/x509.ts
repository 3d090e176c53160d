// @peculiar/x509 resolves its algorithms through tsyringe, which needs Reflect metadata before it loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

/*
 * @peculiar/x509 does its signing and hashing through a WebCrypto provider it
 * is handed. Node 20 has one built in; every module that touches certificates
 * imports x509 from here, so it is wired exactly once and before first use.
 */
x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
