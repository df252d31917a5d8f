//! A real WebRTC client (the media crate's bot) offering a connection to a hearing's media,
//! as a browser tab does.
use std::path::Path;

use opencourt_media::{Bot, BotEvent, BotOptions, IceConfig};
use opencourt_proto::v1 as pb;
use pb::media_service_client::MediaServiceClient;
use tokio::sync::mpsc::UnboundedReceiver;
use tonic::transport::Channel;

use crate::authed;

/// A bot sending `audio` whose offer the server answered: the bot has the answer; ICE
/// candidates are still to be exchanged (its events carry its own).
pub struct Offered {
    pub bot: Bot,
    pub session: String,
    pub events: UnboundedReceiver<BotEvent>,
}

/// Starts a bot sending `audio` and offers its connection to hearing `hearing` as `token`.
pub async fn offer_bot(
    media: &mut MediaServiceClient<Channel>,
    token: &str,
    hearing: &str,
    audio: &Path,
) -> Offered {
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let audio = audio.to_path_buf();
    let (bot, offer) = tokio::task::spawn_blocking(move || {
        let bot =
            Bot::start(&audio, &IceConfig::loopback(), &BotOptions::default(), tx).expect("bot");
        let offer = bot.offer().expect("offer");
        (bot, offer)
    })
    .await
    .unwrap();
    let answer = media
        .offer(authed(
            token,
            pb::OfferRequest {
                hearing_id: hearing.to_string(),
                sdp: offer,
            },
        ))
        .await
        .expect("offer")
        .into_inner();
    let session = answer.session_id.clone();
    // GStreamer state changes block: not on the async executor.
    let bot = tokio::task::spawn_blocking(move || {
        bot.accept_answer(&answer.sdp).expect("answer");
        bot
    })
    .await
    .unwrap();
    Offered {
        bot,
        session,
        events,
    }
}
