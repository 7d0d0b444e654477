use flags_middleware::feature_gated;

struct Service;

impl Service {
    #[feature_gated("new_checkout_flow", fallback = Service::legacy)]
    async fn handle(&self, id: u32) -> u32 {
        id
    }

    async fn legacy(&self, id: u32) -> u32 {
        id + 1
    }
}

fn main() {
    let _ = (Service::handle, Service::legacy);
}
