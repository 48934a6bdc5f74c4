package org.venicedb.blobtransfer;

import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;

/** Calls an {@link OriginPolicy} for the native library, with certificates decoded from DER. */
final class OriginPolicyAdapter extends NativeCallback {
    private final OriginPolicy policy;

    OriginPolicyAdapter(OriginPolicy policy) {
        this.policy = policy;
    }

    private static X509Certificate decode(byte[] der) throws CertificateException {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    }

    /** Called by the native library on one of its threads. */
    @CalledFromNative
    String identity(byte[] der) throws Exception {
        return policy.identity(decode(der));
    }

    /** Called by the native library on one of its threads. */
    @CalledFromNative
    boolean mayRead(byte[] der, String store) throws Exception {
        return policy.mayRead(decode(der), store);
    }
}
