//! Generic handlers, chained: the state type is a parameter of every
//! generation, fixed where the route is made.
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use flags_middleware::feature_gated;

trait Catalog: Clone + Send + Sync + 'static {
    fn name(&self, id: u32) -> String;
}

#[derive(Clone)]
struct Db;

impl Catalog for Db {
    fn name(&self, id: u32) -> String {
        format!("product {id}")
    }
}

#[feature_gated("product_v3", fallback = product_v2)]
async fn product_v3<C: Catalog>(Path(id): Path<u32>, State(catalog): State<C>) -> String {
    format!("v3 {}", catalog.name(id))
}

#[feature_gated("product_v2", fallback = product_v1)]
async fn product_v2<C: Catalog>(Path(id): Path<u32>, State(catalog): State<C>) -> String {
    format!("v2 {}", catalog.name(id))
}

async fn product_v1<C: Catalog>(Path(id): Path<u32>, State(catalog): State<C>) -> String {
    format!("v1 {}", catalog.name(id))
}

fn main() {
    let _app: Router = Router::new()
        .route("/products/{id}", get(product_v3::<Db>))
        .with_state(Db);
}
