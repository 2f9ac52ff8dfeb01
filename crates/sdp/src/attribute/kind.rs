//! [`Kind`]: which attribute a name is.

/// Which attribute a name is, found by length first (one comparison of a short constant
/// string per candidate) rather than by trying every name in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    Candidate,
    RtcpFb,
    Rtpmap,
    Fmtp,
    Ssrc,
    Extmap,
    Mid,
    Msid,
    SsrcGroup,
    IceUfrag,
    IcePwd,
    IceOptions,
    Fingerprint,
    Setup,
    Group,
    MsidSemantic,
    Rid,
    Simulcast,
    Rtcp,
    TlsId,
    SctpPort,
    MaxMessageSize,
    Ptime,
    MaxPtime,
    Framerate,
    RtcpMux,
    RtcpMuxOnly,
    RtcpRsize,
    IceLite,
    EndOfCandidates,
    ExtmapAllowMixed,
    BundleOnly,
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
    /// Not a name ferrtc types.
    Other,
}

impl Kind {
    /// The attribute name of a known kind (`""` for [`Kind::Other`]).
    #[inline]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Mid => "mid",
            Kind::Rid => "rid",
            Kind::Fmtp => "fmtp",
            Kind::Ssrc => "ssrc",
            Kind::Msid => "msid",
            Kind::Rtcp => "rtcp",
            Kind::Setup => "setup",
            Kind::Group => "group",
            Kind::Ptime => "ptime",
            Kind::Rtpmap => "rtpmap",
            Kind::Extmap => "extmap",
            Kind::TlsId => "tls-id",
            Kind::RtcpFb => "rtcp-fb",
            Kind::IcePwd => "ice-pwd",
            Kind::MaxPtime => "maxptime",
            Kind::RtcpMux => "rtcp-mux",
            Kind::IceLite => "ice-lite",
            Kind::SendRecv => "sendrecv",
            Kind::SendOnly => "sendonly",
            Kind::RecvOnly => "recvonly",
            Kind::Inactive => "inactive",
            Kind::Candidate => "candidate",
            Kind::IceUfrag => "ice-ufrag",
            Kind::Simulcast => "simulcast",
            Kind::SctpPort => "sctp-port",
            Kind::Framerate => "framerate",
            Kind::SsrcGroup => "ssrc-group",
            Kind::RtcpRsize => "rtcp-rsize",
            Kind::IceOptions => "ice-options",
            Kind::Fingerprint => "fingerprint",
            Kind::BundleOnly => "bundle-only",
            Kind::MsidSemantic => "msid-semantic",
            Kind::RtcpMuxOnly => "rtcp-mux-only",
            Kind::MaxMessageSize => "max-message-size",
            Kind::EndOfCandidates => "end-of-candidates",
            Kind::ExtmapAllowMixed => "extmap-allow-mixed",
            Kind::Other => "",
        }
    }

    #[inline]
    pub(crate) fn of(name: &str) -> Kind {
        match name.len() {
            3 => match name {
                "mid" => Kind::Mid,
                "rid" => Kind::Rid,
                _ => Kind::Other,
            },
            4 => match name {
                "fmtp" => Kind::Fmtp,
                "ssrc" => Kind::Ssrc,
                "msid" => Kind::Msid,
                "rtcp" => Kind::Rtcp,
                _ => Kind::Other,
            },
            5 => match name {
                "setup" => Kind::Setup,
                "group" => Kind::Group,
                "ptime" => Kind::Ptime,
                _ => Kind::Other,
            },
            6 => match name {
                "rtpmap" => Kind::Rtpmap,
                "extmap" => Kind::Extmap,
                "tls-id" => Kind::TlsId,
                _ => Kind::Other,
            },
            7 => match name {
                "rtcp-fb" => Kind::RtcpFb,
                "ice-pwd" => Kind::IcePwd,
                _ => Kind::Other,
            },
            8 => match name {
                "maxptime" => Kind::MaxPtime,
                "rtcp-mux" => Kind::RtcpMux,
                "ice-lite" => Kind::IceLite,
                "sendrecv" => Kind::SendRecv,
                "sendonly" => Kind::SendOnly,
                "recvonly" => Kind::RecvOnly,
                "inactive" => Kind::Inactive,
                _ => Kind::Other,
            },
            9 => match name {
                "candidate" => Kind::Candidate,
                "ice-ufrag" => Kind::IceUfrag,
                "simulcast" => Kind::Simulcast,
                "sctp-port" => Kind::SctpPort,
                "framerate" => Kind::Framerate,
                _ => Kind::Other,
            },
            10 => match name {
                "ssrc-group" => Kind::SsrcGroup,
                "rtcp-rsize" => Kind::RtcpRsize,
                _ => Kind::Other,
            },
            11 => match name {
                "ice-options" => Kind::IceOptions,
                "fingerprint" => Kind::Fingerprint,
                "bundle-only" => Kind::BundleOnly,
                _ => Kind::Other,
            },
            13 => match name {
                "msid-semantic" => Kind::MsidSemantic,
                "rtcp-mux-only" => Kind::RtcpMuxOnly,
                _ => Kind::Other,
            },
            16 => match name {
                "max-message-size" => Kind::MaxMessageSize,
                _ => Kind::Other,
            },
            17 => match name {
                "end-of-candidates" => Kind::EndOfCandidates,
                _ => Kind::Other,
            },
            18 => match name {
                "extmap-allow-mixed" => Kind::ExtmapAllowMixed,
                _ => Kind::Other,
            },
            _ => Kind::Other,
        }
    }
}
